"""Run the processes of a Procfile together (`make run`): `python -m config.devrun Procfile.dev`.

Each line `name: command` runs in `sh -c` (so `${PORT:-8000}` expands) in a process group of its
own, its output prefixed with its name. Ctrl-C (SIGINT) or SIGTERM stops them all: each process
is asked once (SIGTERM to web and beat, a warm shutdown of the Celery worker), and when every one
has exited the runner exits with status 0. One that is still there after the grace period
(DEVRUN_GRACE_SECONDS, default 20) is killed with its group, and the runner exits with status 1
naming it. If a process dies on its own the others are stopped and the runner exits with status 1.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path


def read_procfile(path: Path) -> list[tuple[str, str]]:
    entries = []
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#") and ":" in line:
            name, command = line.split(":", 1)
            entries.append((name.strip(), command.strip()))
    return entries


class Runner:
    def __init__(self, entries: list[tuple[str, str]], *, grace: float):
        self.entries = entries
        self.grace = grace
        self.width = max(len(name) for name, _ in entries)
        self.processes: dict[str, subprocess.Popen] = {}
        self.output_lock = threading.Lock()
        self.stop_requested = threading.Event()

    def say(self, name: str, text: str) -> None:
        with self.output_lock:
            sys.stdout.write(f"{name:<{self.width}} | {text}\n")
            sys.stdout.flush()

    def _pump(self, name: str, process: subprocess.Popen) -> None:
        for raw in process.stdout:
            self.say(name, raw.decode(errors="replace").rstrip("\n"))

    def start(self) -> None:
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        for name, command in self.entries:
            # A session of its own: a terminal's Ctrl-C reaches the runner only, which stops each
            # process in order; the runner can kill a process's whole group if it lingers.
            process = subprocess.Popen(
                ["sh", "-c", f"exec {command}"],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
            self.processes[name] = process
            threading.Thread(target=self._pump, args=(name, process), daemon=True).start()
            self.say("devrun", f"started {name} (pid {process.pid}): {command}")

    def request_stop(self, signum, frame) -> None:
        self.stop_requested.set()

    def run(self) -> int:
        signal.signal(signal.SIGINT, self.request_stop)
        signal.signal(signal.SIGTERM, self.request_stop)
        with _terminal_foreground():
            self.start()
            return self._supervise()

    def _supervise(self) -> int:
        failed = None
        while not self.stop_requested.wait(0.2):
            failed = next((n for n, p in self.processes.items() if p.poll() is not None), None)
            if failed:
                self.say("devrun", f"{failed} exited with status {self.processes[failed].returncode}")
                break
        return self.stop(failed=failed)

    def stop(self, *, failed: str | None) -> int:
        self.say("devrun", "stopping " + ", ".join(self.processes))
        for process in self.processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + self.grace
        while time.monotonic() < deadline and any(p.poll() is None for p in self.processes.values()):
            time.sleep(0.1)
        killed = []
        for name, process in self.processes.items():
            if process.poll() is None:
                killed.append(name)
            # Also whatever the process left behind in its group (pool children, a reloader's child).
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        if killed:
            self.say("devrun", f"killed {', '.join(killed)}: not stopped within {self.grace:.0f}s")
            return 1
        self.say("devrun", "all stopped")
        return 1 if failed else 0


@contextlib.contextmanager
def _terminal_foreground():
    """On a terminal, take its foreground in a process group of our own while running, so Ctrl-C
    reaches the runner and not `make` above it: make then exits with the runner's status (0 after a
    clean stop) instead of dying of SIGINT. The terminal goes back to the previous group after."""
    try:
        terminal = os.open("/dev/tty", os.O_RDWR)
        previous = os.tcgetpgrp(terminal)
    except OSError:  # no controlling terminal: signals come to our group as they are sent
        yield
        return
    if previous != os.getpgrp():  # not in the foreground (started in the background): leave it
        os.close(terminal)
        yield
        return
    old_ttou = signal.signal(signal.SIGTTOU, signal.SIG_IGN)
    try:
        os.setpgid(0, 0)
        os.tcsetpgrp(terminal, os.getpgrp())
        yield
    finally:
        with contextlib.suppress(OSError):
            os.tcsetpgrp(terminal, previous)
        signal.signal(signal.SIGTTOU, old_ttou)
        os.close(terminal)


def main(argv: list[str]) -> int:
    procfile = Path(argv[1] if len(argv) > 1 else "Procfile.dev")
    grace = float(os.environ.get("DEVRUN_GRACE_SECONDS", "20"))
    return Runner(read_procfile(procfile), grace=grace).run()


if __name__ == "__main__":
    sys.exit(main(sys.argv))
