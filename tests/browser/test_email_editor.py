"""A marketer opens an email in the visual editor, previews it for a contact (merge values, what
consent and tracking do), sends a test that a real local SMTP server receives, and axe-core finds no
serious or critical accessibility violation on the editor."""

import os
from pathlib import Path

from conftest import wait_until
from crm_core.tests.factories import AccountFactory, ContactFactory, MarketerFactory
from journeys import services
from journeys.email_views import STARTER_MJML

from .accessibility import check_accessibility


def _shots(page, tmp_path, name: str) -> None:
    """Full-page screenshots at 1366 and 390 px wide (also into $SHOTS_DIR when it is set), plus the
    preview frame alone: headless Chromium leaves a sandboxed (out-of-process) frame blank in
    full-page captures."""
    folders = [tmp_path] + ([Path(os.environ["SHOTS_DIR"])] if os.environ.get("SHOTS_DIR") else [])
    for width, height in ((1366, 900), (390, 844)):
        page.set_viewport_size({"width": width, "height": height})
        page.wait_for_function("document.getElementById('email-app').dataset.editorReady === 'true'")
        page.frame_locator('[data-testid="preview-frame"]').get_by_text("Hello").first.wait_for()
        for folder in folders:
            folder.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(folder / f"{name}-{width}.png"), full_page=True)
            frame = page.locator('[data-testid="preview-frame"]')
            frame.screenshot(path=str(folder / f"{name}-preview-{width}.png"))


def test_marketer_previews_an_email_for_a_contact_and_sends_a_test(
    live_server, browser_page, smtp_sink, tmp_path
):
    MarketerFactory(username="mia")
    ContactFactory(
        first_name="Ada",
        last_name="Lovelace",
        parent_account=AccountFactory(name="Contoso"),
        track_email=False,
    )
    template = services.email_template_create(
        name="Welcome", kind="marketing", subject="Welcome, {{ contact.first_name }}", mjml=STARTER_MJML
    )
    page = browser_page
    problems: list[str] = []
    page.on("console", lambda m: m.type == "error" and problems.append(f"{m.location.get('url')}: {m.text}"))
    page.on("pageerror", lambda e: problems.append(str(e)))

    page.goto(f"{live_server.url}/accounts/login/?next=/journeys/emails/{template.pk}/")
    page.fill("input[name=username]", "mia")
    page.fill("input[name=password]", "correct horse battery")
    page.click("button[type=submit]")
    page.wait_for_url(f"**/journeys/emails/{template.pk}/")
    page.wait_for_function("document.getElementById('email-app').dataset.editorReady === 'true'")
    canvas = page.frame_locator("#gjs iframe.gjs-frame")
    canvas.get_by_text("Write your message here.").wait_for()
    assert (
        page.locator('[data-testid="merge-tag"]').inner_text() == '{{ contact.first_name|default:"there" }}'
    )

    # The merge-field picker puts a field with its default into the selected text block
    canvas.get_by_text("Write your message here.").click()
    page.select_option('[data-testid="merge-field"]', "account|name")
    page.fill('[data-testid="merge-default"]', "your team")
    page.click('[data-testid="merge-insert"]')
    canvas.get_by_text('{{ account.name|default:"your team" }}').wait_for()
    page.click('[data-testid="email-save"]')
    page.locator('[data-testid="save-status"]', has_text="Saved.").wait_for()
    template.refresh_from_db()
    assert '{{ account.name|default:"your team" }}' in template.html

    # Preview for a contact found by name
    page.fill('[data-testid="contact-search"]', "Lovel")
    page.locator('[data-testid="contact-option"]', has_text="Ada Lovelace").click()
    page.locator('[data-testid="preview-subject"]', has_text="Welcome, Ada").wait_for()
    notices = page.locator('[data-testid="preview-notices"]')
    notices.get_by_text("would be sent").wait_for()
    notices.get_by_text("tracking off for this contact").wait_for()
    preview = page.frame_locator('[data-testid="preview-frame"]')
    preview.get_by_text("Hello Ada,").wait_for()
    preview.get_by_text("Contoso").wait_for()  # the inserted account.name
    assert "Ada" in page.locator('[data-testid="preview-text"]').text_content()

    # A test send that the local SMTP server receives
    page.fill('[data-testid="test-to"]', "qa@example.com")
    page.click('[data-testid="test-send"]')
    page.locator('[data-testid="test-status"]', has_text="Test sent to qa@example.com.").wait_for()
    wait_until(lambda: smtp_sink.messages)
    [received] = smtp_sink.messages
    assert received["to"] == ["qa@example.com"]
    assert received["message"]["Subject"] == "[Test] Welcome, Ada"
    assert "Hello Ada," in received["message"].get_body(("html",)).get_content()
    _shots(page, tmp_path, "email-editor")
    page.set_viewport_size({"width": 1280, "height": 900})

    # Saving a marketing email without its unsubscribe link is refused, with the reason shown
    page.evaluate(
        "() => grapesjs.editors[0].getWrapper().findType('mj-text')"
        ".filter(t => t.toHTML().includes('unsubscribe')).forEach(t => t.remove())"
    )
    page.click('[data-testid="email-save"]')
    page.locator('[data-testid="email-errors"]', has_text="needs an unsubscribe link").wait_for()
    template.refresh_from_db()
    assert "{{ unsubscribe_url }}" in template.mjml  # nothing saved

    check_accessibility(page, "email editor")
    _shots(page, tmp_path, "email-editor-refused")
    # htmx's own indicator style is refused on every page (not this page's concern)
    refused = [p for p in problems if "Content-Security-Policy" in p or "Content Security Policy" in p]
    assert [p for p in refused if "/vendor/htmx/" not in p] == []
