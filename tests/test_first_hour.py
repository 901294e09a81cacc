"""What a newcomer meets first: commands without make, .env.example, the development mail, the
broker's folders and `make run`'s process runner (config/devrun.py)."""

import logging
import os
import signal
import subprocess
import sys
import uuid

from django.core import mail

from conftest import ROOT, manage, sqlite_default_env, wait_until


def _newcomer_env(tmp_path) -> dict:
    """The embedded default as a shell without make has it: no SECRET_KEY, DEBUG off."""
    env = sqlite_default_env(tmp_path)
    for name in ("SECRET_KEY", "DEBUG", "EMAIL_BACKEND", "CELERY_TASK_DEFAULT_QUEUE", "CELERY_BROKER_DIR"):
        env.pop(name, None)
    return env


def test_management_commands_work_without_make_on_the_embedded_default(tmp_path):
    env = _newcomer_env(tmp_path)
    migrate = manage(env, "migrate", "--noinput")
    assert migrate.returncode == 0, migrate.stderr
    link = manage(env, "link_orphan_leads", "--no-progress")
    assert link.returncode == 0, link.stderr
    assert "There are no orphan leads." in link.stdout


BROKER_SCRIPT = """
from django.conf import settings
from config.celery_app import app
with app.connection_for_write() as connection:
    connection.ensure_connection()
print(settings.CELERY_BROKER_TRANSPORT_OPTIONS["control_folder"])
print(settings.EMAIL_BACKEND)
"""


def test_the_filesystem_broker_keeps_its_folders_under_var_and_connects_quietly(tmp_path):
    shell = manage(_newcomer_env(tmp_path), "shell", "-c", BROKER_SCRIPT)
    assert shell.returncode == 0, shell.stderr
    control_folder, email_backend = shell.stdout.split()[-2:]
    assert control_folder == str(ROOT / "var" / "celery-broker" / "control")
    assert email_backend == "config.mail.DevFileEmailBackend"
    assert "No hostname was supplied" not in shell.stderr
    assert not (ROOT / "control").exists()


def test_copying_env_example_to_env_changes_no_setting():
    lines = (ROOT / ".env.example").read_text().splitlines()
    active = [line for line in lines if line.strip() and not line.lstrip().startswith("#")]
    assert active == []


def test_the_development_mail_backend_writes_one_file_and_one_log_line_per_email(tmp_path, caplog):
    connection = mail.get_connection("config.mail.DevFileEmailBackend", file_path=tmp_path / "mail")
    with caplog.at_level(logging.INFO, logger="nurture.mail"):
        sent = mail.send_mail(
            "Hello", "Body " * 500, "a@example.com", ["ann@example.com"], connection=connection
        )
    assert sent == 1
    (path,) = (tmp_path / "mail").glob("*.eml")
    assert "Subject: Hello" in path.read_text()
    assert [r.getMessage() for r in caplog.records] == [
        f"email saved to {path} (to ann@example.com, subject 'Hello')"
    ]


def _devrun(tmp_path, procfile: str, **env):
    (tmp_path / "Procfile").write_text(procfile)
    log = tmp_path / "devrun.log"
    with open(log, "w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "config.devrun", str(tmp_path / "Procfile")],
            cwd=ROOT,
            env={**os.environ, **env},
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return process, log


def _running(marker: str) -> list[str]:
    ps = subprocess.run(["ps", "-ww", "-eo", "args"], capture_output=True, text=True, check=True).stdout
    return [line for line in ps.splitlines() if marker in line]


SLEEPER = '{python} -c "import time; time.sleep(600)" {marker}'


def test_devrun_stops_every_process_and_exits_0_on_ctrl_c(tmp_path):
    marker = f"devrun-test-{uuid.uuid4().hex}"
    sleeper = SLEEPER.format(python=sys.executable, marker=marker)
    # "web" leaves a child of its own behind in its group, as a reloader or a worker pool does.
    process, log = _devrun(tmp_path, f"web: sh -c '{sleeper} & {sleeper}'\nworker: {sleeper}\n")
    try:
        wait_until(lambda: len(_running(marker)) >= 3, timeout=30)
        os.killpg(process.pid, signal.SIGINT)
        assert process.wait(timeout=60) == 0, log.read_text()
        assert _running(marker) == []
        assert "all stopped" in log.read_text()
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)


def test_devrun_kills_a_process_that_does_not_stop_and_says_so(tmp_path):
    marker = f"devrun-test-{uuid.uuid4().hex}"
    stubborn = (
        f'{sys.executable} -c "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); '
        f'print(chr(114) + chr(101) + chr(97) + chr(100) + chr(121), flush=True); time.sleep(600)" {marker}'
    )
    process, log = _devrun(tmp_path, f"beat: {stubborn}\n", DEVRUN_GRACE_SECONDS="1")
    try:
        wait_until(lambda: "beat | ready" in log.read_text(), timeout=30)
        os.killpg(process.pid, signal.SIGTERM)
        assert process.wait(timeout=60) == 1
        assert "killed beat" in log.read_text()
        assert _running(marker) == []
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
