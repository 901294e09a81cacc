"""The admin writes scoring models, rules and grade bands through `scoring_model_save`, as the API
does: a live model edited here is recomputed in the worker, a new interaction rule gets the default
cap, and a bad band or rule is refused at its row with nothing saved."""

import re

import pytest
from django.db import connection
from django.urls import reverse

from config.celery_app import app as celery_app
from conftest import rerun_on_sqlite
from crm_core.models import InteractionKind
from crm_core.tests.factories import InteractionFactory, LeadFactory
from leadscoring.models import GradeBand, LeadScore, ScoringModel, ScoringRule

from .factories import GradeBandFactory, ScoringModelFactory, ScoringRuleFactory

pytestmark = pytest.mark.django_db

MODEL_URL = "admin:leadscoring_scoringmodel_change"


@pytest.fixture
def recomputes(monkeypatch):
    """The recomputes enqueued (their arguments), counted instead of left on a queue no worker reads."""
    from leadscoring import tasks

    enqueued = []
    monkeypatch.setattr(
        tasks.scoring_model_recompute_task,
        "apply_async",
        lambda args=(), kwargs=None, **options: enqueued.append(kwargs),
    )
    return enqueued


@pytest.fixture
def eager_tasks():
    """Tasks enqueued on commit run in-process (as the worker would run them)."""
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = previous


@pytest.fixture
def live_model():
    """A live model with one rule (opens, 5 points) and two bands."""
    model = ScoringModelFactory(name="Main")
    rule = ScoringRuleFactory(
        model=model, name="Opens", interaction_kind=InteractionKind.EMAIL_OPEN, points=5
    )
    GradeBandFactory(model=model, grade="A", min_score=50, max_score=None)
    GradeBandFactory(model=model, grade="B", min_score=0, max_score=49)
    return model, rule


def _model_form(model, *, rules=(), bands=(), **fields) -> dict:
    """The POST of the model's admin page: its fields, then rule and band rows (dicts; `id` for saved)."""
    data = {
        "name": model.name, "status": model.status, "sales_ready_threshold": "100",
        "handoff_rearm_margin": "10", "decay_mode": "none", "decay_days": "",
        "rules-TOTAL_FORMS": str(len(rules)), "rules-INITIAL_FORMS": str(sum("id" in r for r in rules)),
        "grade_bands-TOTAL_FORMS": str(len(bands)),
        "grade_bands-INITIAL_FORMS": str(sum("id" in b for b in bands)),
    }  # fmt: skip
    if model.is_primary:
        data["is_primary"] = "on"
    data.update(fields)
    blank_rule = {"interaction_kind": "", "url_contains": "", "email": "", "form": "", "event": "",
                  "max_count": "", "condition": ""}  # fmt: skip
    for prefix, rows, blank in (("rules", rules, blank_rule), ("grade_bands", bands, {"max_score": ""})):
        for i, row in enumerate(rows):
            values = {**blank, "model": model.pk, **row}
            data.update({f"{prefix}-{i}-{name}": value for name, value in values.items()})
    return data


def _row_html(html: str, row_id: str) -> str:
    """An inline row's HTML (from its element up to the next row)."""
    start = html.index(f'id="{row_id}"')
    following = re.search(r'id="(rules|grade_bands)-(\d+|empty)"', html[start + 1 :])
    return html[start : start + 1 + following.start()] if following else html[start:]


def _errors(html: str) -> list[str]:
    return [
        re.sub(r"<[^>]+>", "", e).strip()
        for e in re.findall(r'<ul class="errorlist[^"]*"[^>]*>(.*?)</ul>', html, re.S)
    ]


def _saved_state(model) -> tuple:
    model.refresh_from_db()
    rules = list(ScoringRule.objects.filter(model=model).values_list("pk", "name", "points", "max_count"))
    bands = list(GradeBand.objects.filter(model=model).values_list("grade", "min_score", "max_score"))
    return model.name, model.sales_ready_threshold, rules, bands


def test_an_admin_edit_of_a_live_model_is_recomputed_with_its_new_rules(
    client, admin_user, live_model, eager_tasks, django_capture_on_commit_callbacks
):
    model, rule = live_model
    lead = LeadFactory()
    for _ in range(3):
        InteractionFactory(contact=lead.parent_contact, kind=InteractionKind.EMAIL_OPEN)
    InteractionFactory(contact=lead.parent_contact, kind=InteractionKind.FORM_SUBMIT)
    client.force_login(admin_user)
    data = _model_form(
        model,
        rules=[
            {"id": rule.pk, "name": "Opens", "interaction_kind": "email_open", "points": "7"},
            {"name": "Forms", "interaction_kind": "form_submit", "points": "20"},  # cap left blank
        ],
        bands=[
            {
                "id": band.pk,
                "grade": band.grade,
                "min_score": band.min_score,
                "max_score": band.max_score or "",
            }
            for band in model.grade_bands.all()
        ],
    )
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = client.post(reverse(MODEL_URL, args=[model.pk]), data)
    assert response.status_code == 302, _errors(response.content.decode())
    assert len(callbacks) == 1  # one recompute, after commit
    # The worker's recompute ran (eagerly here) with the rules as saved: 3 opens x 7 + 1 form x 20.
    assert LeadScore.objects.get(lead=lead, model=model).score == 41
    opens, forms = ScoringRule.objects.filter(model=model).order_by("id")
    assert (opens.pk, opens.points, opens.max_count) == (rule.pk, 7, None)  # changed in place
    assert forms.max_count == 10  # SCORING_DEFAULT_RULE_CAP, as the API gives a rule without a cap


def test_the_recompute_is_enqueued_for_a_live_model_only(
    client, admin_user, live_model, recomputes, django_capture_on_commit_callbacks
):
    model, rule = live_model
    client.force_login(admin_user)
    rules = [{"id": rule.pk, "name": "Opens", "interaction_kind": "email_open", "points": "5"}]
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse(MODEL_URL, args=[model.pk]), _model_form(model, rules=rules))
    assert response.status_code == 302
    assert recomputes == [{"model_id": model.pk}]
    draft = ScoringModelFactory(status="draft")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse(MODEL_URL, args=[draft.pk]), _model_form(draft, sales_ready_threshold="80")
        )
    assert response.status_code == 302
    assert recomputes == [{"model_id": model.pk}]  # a draft is not scored
    draft.refresh_from_db()
    assert draft.sales_ready_threshold == 80


def test_a_model_added_in_the_admin_is_saved_with_its_rows_and_recomputed(
    client, admin_user, recomputes, django_capture_on_commit_callbacks
):
    client.force_login(admin_user)
    model = ScoringModel(name="New", status="live")
    data = _model_form(
        model,
        rules=[
            {"name": "Visits", "interaction_kind": "page_visit", "url_contains": "/pricing", "points": "3"}
        ],
        bands=[{"grade": "A", "min_score": "0"}],
    )
    data = {k: v for k, v in data.items() if not k.endswith("-model")}
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("admin:leadscoring_scoringmodel_add"), data)
    assert response.status_code == 302, _errors(response.content.decode())
    model = ScoringModel.objects.get(name="New")
    assert list(model.rules.values_list("url_contains", "max_count")) == [("/pricing", 10)]
    assert list(model.grade_bands.values_list("grade", "min_score", "max_score")) == [("A", 0, None)]
    assert recomputes == [{"model_id": model.pk}]


def _band_rows(model, **changes):
    a, b = model.grade_bands.order_by("-min_score")
    rows = [
        {"id": a.pk, "grade": "A", "min_score": "50", "max_score": ""},
        {"id": b.pk, "grade": "B", "min_score": "0", "max_score": "49"},
    ]
    for index, values in changes.items():
        rows[int(index[-1])].update(values)
    return rows


@pytest.mark.parametrize(
    "band_changes, row, message",
    [
        ({"row1": {"max_score": "-5"}}, "grade_bands-1", "at or above min_score"),
        ({"row1": {"min_score": "many"}}, "grade_bands-1", "Enter a whole number"),
        ({"row1": {"max_score": "40"}}, None, "Gap between bands"),  # the set: shown above the rows
    ],
)
def test_a_bad_band_is_refused_at_its_row_and_nothing_is_saved(
    client, admin_user, live_model, recomputes, band_changes, row, message, django_capture_on_commit_callbacks
):
    model, rule = live_model
    before = _saved_state(model)
    client.force_login(admin_user)
    rules = [{"id": rule.pk, "name": "Renamed", "interaction_kind": "email_open", "points": "9"}]
    data = _model_form(model, rules=rules, bands=_band_rows(model, **band_changes), name="Renamed model")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse(MODEL_URL, args=[model.pk]), data)
    assert response.status_code == 200
    html = response.content.decode()
    where = (
        _row_html(html, row)
        if row
        else html[html.index('id="grade_bands-group"') : html.index('id="grade_bands-0"')]
    )
    assert any(message in error for error in _errors(where)), _errors(html)
    assert _saved_state(model) == before and recomputes == []


def test_the_bands_are_saved_as_a_set(
    client, admin_user, live_model, recomputes, django_capture_on_commit_callbacks
):
    """Bands moved past each other's old bounds (A's new minimum is B's old one) are one valid set."""
    model, _rule = live_model
    client.force_login(admin_user)
    bands = _band_rows(model, row0={"min_score": "0", "max_score": "", "grade": "A"})
    bands[1].update({"grade": "B", "min_score": "-50", "max_score": "-1"})
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse(MODEL_URL, args=[model.pk]), _model_form(model, bands=bands))
    assert response.status_code == 302, _errors(response.content.decode())
    assert sorted(model.grade_bands.values_list("grade", "min_score", "max_score")) == [
        ("A", 0, None),
        ("B", -50, -1),
    ]


@pytest.mark.parametrize(
    "rule, field, message",
    [
        ({"interaction_kind": "email_open", "max_count": "0"}, "max_count", "greater than or equal to 1"),
        ({"interaction_kind": "", "form": "demo", "condition": ""}, "condition", "needs a condition"),
        ({"interaction_kind": "fax"}, "interaction_kind", "Select a valid choice"),
        ({"interaction_kind": "email_open", "points": ""}, "points", "This field is required"),
    ],
)
def test_a_bad_rule_is_refused_at_its_row_and_nothing_is_saved(
    client, admin_user, live_model, recomputes, rule, field, message, django_capture_on_commit_callbacks
):
    model, saved_rule = live_model
    before = _saved_state(model)
    client.force_login(admin_user)
    rules = [
        {"id": saved_rule.pk, "name": "Opens", "interaction_kind": "email_open", "points": "1"},
        {"name": "New rule", "points": "4", **rule},
    ]
    data = _model_form(model, rules=rules, bands=_band_rows(model), sales_ready_threshold="70")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse(MODEL_URL, args=[model.pk]), data)
    assert response.status_code == 200
    row = _row_html(response.content.decode(), "rules-1")
    cell = re.search(rf'<div class="form-row[^"]*field-{field}[^"]*">(.*?)</div>\s*</div>', row, re.S)
    assert cell and any(message in error for error in _errors(cell.group(1))), _errors(row)
    assert _saved_state(model) == before and recomputes == []


def test_a_second_primary_model_is_refused_at_the_field(client, admin_user, live_model):
    model, rule = live_model
    ScoringModelFactory(name="Current primary", is_primary=True)
    client.force_login(admin_user)
    data = _model_form(model, rules=[], bands=_band_rows(model), is_primary="on")
    response = client.post(reverse(MODEL_URL, args=[model.pk]), data)
    assert response.status_code == 200
    assert "&#x27;Current primary&#x27; is the primary model" in response.content.decode()
    model.refresh_from_db()
    assert not model.is_primary and model.rules.count() == 1


def test_the_rule_pages_save_and_delete_through_the_model(
    client, admin_user, live_model, recomputes, django_capture_on_commit_callbacks
):
    model, rule = live_model
    other = ScoringRuleFactory(model=model, name="Visits", interaction_kind="page_visit", points=2)
    client.force_login(admin_user)
    change = reverse("admin:leadscoring_scoringrule_change", args=[rule.pk])
    data = {"name": "Opens", "interaction_kind": "email_open", "url_contains": "", "email": "", "form": "",
            "event": "", "points": "8", "max_count": "3", "condition": ""}  # fmt: skip
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(change, {**data, "model": ScoringModelFactory().pk})  # the model is read-only
    assert response.status_code == 302
    rule.refresh_from_db()
    other.refresh_from_db()
    assert (rule.model_id, rule.points, rule.max_count, other.points) == (model.pk, 8, 3, 2)
    with django_capture_on_commit_callbacks(execute=True):
        added = client.post(
            reverse("admin:leadscoring_scoringrule_add"), {**data, "model": model.pk, "max_count": ""}
        )
    assert added.status_code == 302
    new = ScoringRule.objects.filter(model=model).exclude(pk__in=[rule.pk, other.pk]).get()
    assert new.max_count == 10  # the default cap
    assert added.url == reverse("admin:leadscoring_scoringrule_changelist")
    delete = reverse("admin:leadscoring_scoringrule_delete", args=[other.pk])
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(delete, {"post": "yes"}).status_code == 302
    changelist = reverse("admin:leadscoring_scoringrule_changelist")
    bulk = {"action": "delete_selected", "_selected_action": [new.pk], "post": "yes"}
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(changelist, bulk).status_code == 302
    assert list(model.rules.values_list("pk", flat=True)) == [rule.pk]
    assert recomputes == [{"model_id": model.pk}] * 4


@pytest.mark.parametrize("name", ["gradeband", "leadscore", "salesreadycrossing"])
def test_bands_and_scores_are_view_only(client, admin_user, name):
    client.force_login(admin_user)
    assert client.get(reverse(f"admin:leadscoring_{name}_changelist")).status_code == 200
    assert client.post(reverse(f"admin:leadscoring_{name}_add"), {}).status_code == 403


def test_a_band_is_not_changed_or_deleted_on_its_own(client, admin_user, live_model):
    model, _rule = live_model
    band = model.grade_bands.get(grade="A")
    client.force_login(admin_user)
    change = reverse("admin:leadscoring_gradeband_change", args=[band.pk])
    assert client.post(change, {"model": model.pk, "grade": "Z", "min_score": "50"}).status_code == 403
    delete = reverse("admin:leadscoring_gradeband_delete", args=[band.pk])
    assert client.post(delete, {"post": "yes"}).status_code == 403
    assert list(model.grade_bands.values_list("grade", flat=True)) == ["A", "B"]


def test_a_write_the_service_refuses_late_is_rolled_back_and_reported(
    client, admin_user, live_model, recomputes, monkeypatch, django_capture_on_commit_callbacks
):
    """A refusal after the forms passed (a rule deleted, a name taken meanwhile): the service's writes
    are rolled back with the page's transaction and the page says why."""
    from django.core.exceptions import ValidationError

    from leadscoring import admin_writes

    real_save = admin_writes.scoring_model_save

    def saves_then_refuses(**kwargs):
        real_save(**kwargs)  # the real writes happen first
        raise ValidationError({"rules": ["No rule 999 in this model (deleted meanwhile?)."]})

    monkeypatch.setattr(admin_writes, "scoring_model_save", saves_then_refuses)
    model, rule = live_model
    before = _saved_state(model)
    client.force_login(admin_user)
    url = reverse(MODEL_URL, args=[model.pk])
    data = _model_form(model, rules=[], bands=_band_rows(model), name="Renamed")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, data)
    assert response.status_code == 302 and response.url == url
    assert _saved_state(model) == before and recomputes == []
    page = client.get(url).content.decode()
    assert "Nothing was saved: No rule 999 in this model" in page
    delete = reverse("admin:leadscoring_scoringrule_delete", args=[rule.pk])
    assert client.post(delete, {"post": "yes"}).status_code == 302
    assert ScoringRule.objects.filter(pk=rule.pk).exists()


def test_the_same_holds_on_sqlite(tmp_path):
    """This module again, in a process on the embedded default's database (SQLite)."""
    run = rerun_on_sqlite(tmp_path, __file__, leave_out="test_the_same_holds_on_sqlite")
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-3000:]
    assert connection.vendor == "postgresql" and "19 passed" in run.stdout, run.stdout[-2000:]


def test_a_rule_added_elsewhere_since_the_page_was_opened_is_kept(client, admin_user, live_model):
    model, rule = live_model
    client.force_login(admin_user)
    page_rows = [{"id": rule.pk, "name": "Opens", "interaction_kind": "email_open", "points": "6"}]
    added_meanwhile = ScoringRuleFactory(model=model, name="Added by someone else")
    response = client.post(reverse(MODEL_URL, args=[model.pk]), _model_form(model, rules=page_rows))
    assert response.status_code == 302
    assert list(model.rules.order_by("id").values_list("pk", "points")) == [
        (rule.pk, 6),
        (added_meanwhile.pk, 10),
    ]
