"""Forms of the sales pages: logging an activity and creating a task on a record."""

from django import forms

from .models import Activity, ActivityKind, CallOutcome


class ActivityForm(forms.Form):
    kind = forms.ChoiceField(choices=ActivityKind.choices, initial=ActivityKind.CALL)
    subject = forms.CharField(max_length=200)
    body = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}), label="Notes")
    outcome = forms.ChoiceField(
        choices=[("", "—"), *CallOutcome.choices], required=False, label="Call outcome"
    )
    duration_minutes = forms.IntegerField(
        required=False, min_value=0, max_value=24 * 60, label="Duration (min)"
    )
    meeting_at = forms.DateTimeField(
        required=False, label="Meeting time", widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )
    attendees = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 2}), help_text="One per line"
    )

    def clean_attendees(self):
        return self.cleaned_data["attendees"].strip()


class TaskForm(forms.Form):
    title = forms.CharField(max_length=200)
    due_at = forms.DateTimeField(
        required=False, label="Due", widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))


ACTIVITY_FIELD_NAMES = [f.name for f in Activity._meta.fields]


class NotificationSettingsForm(forms.Form):
    email_handoff = forms.BooleanField(required=False, label="Email me when a lead is handed to me")
    email_task_assigned = forms.BooleanField(required=False, label="Email me when a task is assigned to me")
    email_task_overdue = forms.BooleanField(required=False, label="Email me when a task of mine is overdue")
    email_marketing_touch = forms.BooleanField(
        required=False, label="Email me when marketing touches a lead I own again"
    )
