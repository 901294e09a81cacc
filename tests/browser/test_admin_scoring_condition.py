"""An admin builds a scoring rule's condition in the admin with the segment builder's condition tree
(no JSON): a condition the server refuses comes back marked at its row and is not saved; fixed, it
is saved; a rule given an interaction kind hides the tree and keeps no condition. Screenshots at
1366 and 390 px wide are kept in the test's folder (and in $SHOTS_DIR when it is set)."""

from leadscoring.models import ScoringRule
from leadscoring.tests.factories import ScoringModelFactory

from .screens import shots


def test_admin_builds_a_scoring_condition_with_the_tree(live_server, browser_page, admin_user, tmp_path):
    model = ScoringModelFactory(name="Main model")
    admin_user.set_password("correct horse battery")
    admin_user.save()
    page = browser_page
    page.goto(f"{live_server.url}/admin/login/?next=/admin/leadscoring/scoringrule/add/")
    page.fill("input[name=username]", admin_user.username)
    page.fill("input[name=password]", "correct horse battery")
    page.click("input[type=submit]")
    page.wait_for_url("**/scoringrule/add/")

    page.select_option("select[name=model]", str(model.pk))
    page.fill("input[name=name]", "Asked about pricing")
    page.fill("input[name=points]", "20")
    widget = page.locator('[data-testid="condition-widget"][data-ready="true"]')
    tree = widget.locator('[data-testid="condition-tree"]')
    # one condition: the lead's topic "is any of" nothing yet (the server refuses an empty list)
    tree.locator('.tree-group.root > .add [data-testid="add-condition"]').click()
    row = tree.locator('[data-testid="condition"]').first
    row.locator('[data-testid="field"]').select_option("topic")
    row.locator('[data-testid="op"]').select_option("in")
    page.click("input[name=_save]")

    refused = widget.locator('[data-testid="condition"]').first
    refused.locator('[data-testid="row-errors"] li', has_text="needs a non-empty list").wait_for()
    assert "has-error" in refused.get_attribute("class")
    assert not ScoringRule.objects.filter(model=model).exists()
    shots(page, tmp_path, "admin-scoring-condition-refused")

    # fixed: "contains pricing"
    refused.locator('[data-testid="op"]').select_option("contains")
    refused.locator('[data-testid="value"]').fill("pricing")
    page.click("input[name=_save]")
    page.wait_for_url("**/scoringrule/")
    rule = ScoringRule.objects.get(model=model)
    assert rule.condition["conditions"] == [{"field": "topic", "op": "contains", "value": "pricing"}]

    # the change page shows it in the tree; an interaction kind hides the tree and drops the condition
    page.goto(f"{live_server.url}/admin/leadscoring/scoringrule/{rule.pk}/change/")
    widget.wait_for()
    assert widget.locator('[data-testid="condition"] [data-testid="value"]').input_value() == "pricing"
    shots(page, tmp_path, "admin-scoring-condition")
    page.select_option("select[name=interaction_kind]", "email_open")
    widget.locator('[data-testid="condition-off"]').wait_for()
    assert widget.locator('[data-testid="condition-tree"]').is_hidden()
    page.click("input[name=_save]")
    page.wait_for_url("**/scoringrule/")
    rule.refresh_from_db()
    assert (rule.interaction_kind, rule.condition) == ("email_open", None)

    # on the model's page, a rule added with "Add another" gets its own tree
    page.goto(f"{live_server.url}/admin/leadscoring/scoringmodel/{model.pk}/change/")
    page.click("#rules-group .add-row a")
    added = page.locator('#rules-1 [data-testid="condition-widget"][data-ready="true"]')
    added.locator('.tree-group.root > .add [data-testid="add-condition"]').click()
    added.locator('[data-testid="condition"]').wait_for()
    shots(page, tmp_path, "admin-scoring-model")
