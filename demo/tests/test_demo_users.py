"""`ensure_demo_users`: the demo's users, one per role, with the password given or a random one."""

import pytest
from django.contrib.auth import authenticate
from django.core.management import call_command

from crm_core.roles import user_roles
from demo.management.commands import ensure_demo_users

pytestmark = pytest.mark.django_db


def test_ensure_demo_users_creates_one_user_per_role(settings, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(ensure_demo_users, "CREDENTIALS_FILE", tmp_path / "credentials.txt")
    call_command("ensure_demo_users", password="demo-pass-123")
    assert user_roles(authenticate(username="marketer", password="demo-pass-123")) == {"marketing"}
    assert user_roles(authenticate(username="rep", password="demo-pass-123")) == {"sales"}
    assert authenticate(username="admin", password="demo-pass-123").is_superuser
    assert "demo-pass-123" in capsys.readouterr().out
