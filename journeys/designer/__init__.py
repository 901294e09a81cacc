"""The journey designer's server side: the flow of step cards (`flow`), a step's typed form and the
config it builds (`step_forms`), edits of the step list (`edits`), the settings form (`settings_form`)
and each step in words (`summaries`). The pages are `journeys/views_designer.py`."""
