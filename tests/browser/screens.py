"""Screenshots at desktop and phone width that also check the page fits the screen."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

WIDTHS = (1366, 390)
OVERFLOW = "document.documentElement.scrollWidth - window.innerWidth"
FITS = f"{OVERFLOW} <= 1"
NEXT_FRAMES = "new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done)))"


def wait_for_layout(page, timeout_s: float = 5.0) -> None:
    """After a viewport change, wait until the page fits it: charts (Chart.js) and other widgets
    resize in a later animation frame, so a measure taken at once can still see the old width. Checked
    once per two animation frames (evaluated over the protocol: the pages' CSP forbids the string
    evaluation `wait_for_function` needs). If it never fits, the caller's assertion reports by how
    much."""
    deadline = time.monotonic() + timeout_s
    while not page.evaluate(FITS) and time.monotonic() < deadline:
        page.evaluate(NEXT_FRAMES)


def capture(page, width: int, path: Path, name: str, keep: str | None) -> None:
    """One full-page screenshot at `width` (copied into the folder `keep` when given), once the page
    has settled; the page must not be wider than the screen."""
    page.set_viewport_size({"width": width, "height": 900})
    wait_for_layout(page)
    page.screenshot(path=str(path), full_page=True)
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, keep)
    overflow = page.evaluate(OVERFLOW)
    assert overflow <= 1, f"{name} is {overflow}px wider than a {width}px screen"


def shots(page, tmp_path, name: str) -> None:
    """Full-page screenshots at each width (`<name>-<width>.png`, copied to $SHOTS_DIR when set);
    the page must not be wider than the screen."""
    for width in WIDTHS:
        capture(page, width, tmp_path / f"{name}-{width}.png", name, os.environ.get("SHOTS_DIR"))
    page.set_viewport_size({"width": 1280, "height": 900})
