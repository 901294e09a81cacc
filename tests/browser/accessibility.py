"""axe-core (npm package `axe-core`, in node_modules) run in the page: fails on any serious or
critical violation. axe's file is evaluated through the browser's protocol, which the page's CSP
does not govern, so any page will do (`browser_page`, or `axe_page`, whose context bypasses the CSP):

    check_accessibility(axe_page, "contact list")
"""

from __future__ import annotations

from pathlib import Path

from django.conf import settings

AXE_SCRIPT = Path(settings.BASE_DIR) / "node_modules" / "axe-core" / "axe.min.js"
FAILING_IMPACTS = ("serious", "critical")


def axe_violations(page, *, context: str | None = None) -> list[dict]:
    """Every violation axe finds on the page as it is now (or inside the `context` selector)."""
    assert AXE_SCRIPT.exists(), f"{AXE_SCRIPT} is missing: run `make install` (npm ci)"
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(AXE_SCRIPT.read_text())
    result = page.evaluate(
        """async (context) => {
            const results = await axe.run(context || document, {resultTypes: ["violations"]});
            return results.violations.map(v => ({
                id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.slice(0, 5).map(n => n.target.join(" ") + ": " + n.failureSummary),
            }));
        }""",
        context,
    )
    return result


def check_accessibility(page, name: str, *, context: str | None = None) -> list[dict]:
    """Fail on serious or critical violations, naming each rule and its first elements; the minor
    and moderate ones are returned for the caller to look at."""
    violations = axe_violations(page, context=context)
    failing = [v for v in violations if v["impact"] in FAILING_IMPACTS]
    assert not failing, f"{name}: axe found serious/critical violations:\n" + "\n".join(
        f"- {v['id']} ({v['impact']}): {v['help']}\n    " + "\n    ".join(v["nodes"]) for v in failing
    )
    return violations
