"""What happened, in the words a rep reads: interactions and score reasons as short phrases."""

from __future__ import annotations

from crm_core.models import InteractionKind

# kind -> (verb for one thing, noun when the rule names no particular thing)
_VERBS = {
    InteractionKind.EMAIL_SENT: ("was sent", "emails"),
    InteractionKind.EMAIL_OPEN: ("opened", "emails"),
    InteractionKind.EMAIL_CLICK: ("clicked", "emails"),
    InteractionKind.PAGE_VISIT: ("visited", "pages"),
    InteractionKind.FORM_SUBMIT: ("submitted", "forms"),
    InteractionKind.DOWNLOAD: ("downloaded", "content"),
    InteractionKind.EVENT_REGISTRATION: ("registered for", "events"),
    InteractionKind.EVENT_ATTENDANCE: ("attended", "events"),
}


def times(n: int) -> str:
    return {1: "once", 2: "twice"}.get(n, f"{n} times")


def _thing(kind: str, *, email="", url="", form="", event="") -> str:
    if email:
        return f"the {email} email"
    if event:
        return event
    if form:
        return f"the {form} form"
    if url:
        return url
    return ""


def interaction_words(kind: str, properties: dict | None) -> str:
    """ "Clicked the Pricing email", "Visited /pricing", "Attended Contoso Ltd Conference"."""
    props = properties if isinstance(properties, dict) else {}
    verb, noun = _VERBS.get(kind, (kind.replace("_", " "), "something"))
    thing = _thing(
        kind,
        email=str(props.get("email") or ""),
        url=str(props.get("url") or ""),
        form=str(props.get("form") or ""),
        event=str(props.get("event") or ""),
    )
    if kind == InteractionKind.EMAIL_SENT:
        return f"Was sent {thing or 'an email'}"
    return f"{verb.capitalize()} {thing or 'a ' + noun.rstrip('s')}"


def reason_words(row: dict) -> str:
    """One score-explanation row as a reason: "clicked the Pricing email twice", "attended Contoso Ltd
    Conference"; a fit (condition) rule by its name."""
    rule = row.get("rule_obj")
    if rule is None or rule.interaction_kind is None:
        return row["rule"]
    kind = rule.interaction_kind
    verb, noun = _VERBS.get(kind, (kind.replace("_", " "), "things"))
    thing = _thing(kind, email=rule.email, url=rule.url_contains, form=rule.form, event=rule.event)
    count = row["count"]
    if kind == InteractionKind.EVENT_ATTENDANCE and thing and count == 1:
        return f"attended {thing}"
    if kind == InteractionKind.EMAIL_SENT:
        return f"was sent {thing or 'emails'} {times(count)}"
    if kind == InteractionKind.PAGE_VISIT and thing:
        return f"visited pages with “{thing}” {times(count)}"
    return f"{verb} {thing or noun} {times(count)}"


def top_reasons(rows: list[dict], n: int = 3) -> list[str]:
    """The `n` rules giving the most points, in words with their points."""
    best = sorted((r for r in rows if r["points"] > 0), key=lambda r: (-r["points"], r["rule_id"]))[:n]
    return [f"{reason_words(r)} (+{r['points']})" for r in best]
