"""journeys 0007 moves the journeys' SalesTask rows into sales' Task table (and back)."""

from datetime import timedelta

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

BEFORE = [("journeys", "0006_tracked_link_urls_unescaped"), ("sales", "0001_initial")]
AFTER = [("journeys", "0007_sales_tasks_move_to_sales")]


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.mark.django_db(transaction=True)
def test_sales_tasks_move_into_the_task_table():
    old = _migrate(BEFORE)
    Account = old.get_model("crm_core", "Account")
    Contact = old.get_model("crm_core", "Contact")
    Journey = old.get_model("journeys", "Journey")
    SalesTask = old.get_model("journeys", "SalesTask")
    account = Account.objects.create(name="Contoso")
    contact = Contact.objects.create(first_name="Ann", email="ann@example.com", parent_account=account)
    journey = Journey.objects.create(name="Welcome")
    now = timezone.now()
    SalesTask.objects.create(
        title="Call Ann", contact=contact, journey=journey, status="open", due_at=now + timedelta(days=1)
    )
    SalesTask.objects.create(title="Old", contact=contact, status="done", due_at=now - timedelta(days=9))
    try:
        new = _migrate(AFTER)
        Task = new.get_model("sales", "Task")
        rows = list(
            Task.objects.order_by("id").values_list(
                "title", "source", "journey_id", "contact_id", "account_id", "done_at"
            )
        )
        assert [r[:5] for r in rows] == [
            ("Call Ann", "journey", journey.pk, contact.pk, account.pk),
            ("Old", "journey", None, contact.pk, account.pk),
        ]
        assert rows[0][5] is None and rows[1][5] is not None
        back = _migrate(BEFORE)
        assert back.get_model("journeys", "SalesTask").objects.count() == 2
    finally:
        _migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())
