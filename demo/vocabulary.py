"""What the demo's rows are made of: names of products, offers, events, countries, pages and forms,
the weights that shape the data set, and the helpers that draw from them with a seeded `random.Random`.
"""

import random
from collections.abc import Callable

from crm_core.models import InteractionKind, LeadStatus

CONTOSO_TOPIC = "Contoso Ltd Conference"

PRODUCTS = [
    "Analytics Suite",
    "Cloud Backup",
    "Data Platform",
    "Field Service",
    "HR Cloud",
    "IoT Hub",
    "Marketing Hub",
    "Payments API",
    "Security Center",
    "Supply Chain",
    "Support Desk",
    "Video Suite",
    "Commerce Cloud",
    "Edge Devices",
    "AI Assistant",
    "Finance ERP",
    "Identity",
    "Workflow Studio",
    "CRM Essentials",
    "Data Warehouse",
]
OFFERS = [
    "Demo",
    "Trial",
    "Pricing",
    "Whitepaper",
    "Webinar",
    "Workshop",
    "Case Study",
    "Consultation",
    "eBook",
    "Assessment",
]
EVENTS = [
    CONTOSO_TOPIC,
    "Fabrikam Summit",
    "Northwind Roadshow",
    "Adventure Works Expo",
    "Tailspin Forum",
    "Woodgrove Finance Day",
    "Litware Dev Days",
    "Proseware Partner Week",
    "Wide World Importers Fair",
    "Coho Winery Tasting",
    "Alpine Ski House Retreat",
    "Relecloud Live",
]
COUNTRIES = [
    "United States",
    "United Kingdom",
    "Germany",
    "France",
    "Netherlands",
    "Spain",
    "Italy",
    "Canada",
    "Australia",
    "India",
    "Japan",
    "Brazil",
    "Sweden",
    "Poland",
    "Ireland",
    "Switzerland",
]
EMAIL_NAMES = [f"Newsletter {n}" for n in range(1, 25)] + [f"{p} launch" for p in PRODUCTS[:8]]
PAGES = ["/pricing", "/products", "/blog", "/docs", "/contact", "/about", "/customers", "/careers"]
FORMS = ["contact-us", "demo-request", "newsletter-signup", "webinar-registration", "trial-signup"]
ASSETS = ["whitepaper-ai", "ebook-data", "case-study-retail", "datasheet-security", "report-2026"]
INTERACTION_KIND_WEIGHTS = [
    (InteractionKind.EMAIL_SENT, 30),
    (InteractionKind.EMAIL_OPEN, 25),
    (InteractionKind.EMAIL_CLICK, 10),
    (InteractionKind.PAGE_VISIT, 22),
    (InteractionKind.FORM_SUBMIT, 5),
    (InteractionKind.DOWNLOAD, 5),
    (InteractionKind.EVENT_REGISTRATION, 2),
    (InteractionKind.EVENT_ATTENDANCE, 1),
]
# Statuses before scoring and sales have seen the leads (`demo_run_workflows` moves them on).
LEAD_STATUS_WEIGHTS = [
    (LeadStatus.NEW, 80),
    (LeadStatus.NURTURE, 16),
    (LeadStatus.DISQUALIFIED, 4),
]
# Share of decision makers with a lead for the flagship event, so "Contoso Ltd Conference decision
# makers" has members by construction (about 2% of contacts).
CONTOSO_DECISION_MAKER_SHARE = 0.15
LEADS_PER_CONTACT_WEIGHTS = [(0, 15), (1, 30), (2, 30), (3, 15), (4, 10)]  # mean 1.75
ORPHAN_LEADS_PER_CONTACT = 0.2


def lead_topics() -> list[str]:
    """About 200 topics: every event, then product x offer."""
    topics = list(EVENTS)
    topics += [f"{product} {offer}" for product in PRODUCTS for offer in OFFERS][: 200 - len(topics)]
    return topics


def weighted_picker(rng: random.Random, weights: list[tuple]) -> Callable[[], object]:
    """A function that draws one value of `weights` ((value, weight) pairs) from `rng` per call."""
    values = [v for v, _ in weights]
    cum = []
    total = 0
    for _, w in weights:
        total += w
        cum.append(total)

    def pick():
        return rng.choices(values, cum_weights=cum)[0]

    return pick


def ascii_word(text: str) -> str:
    """`text` in lower case, letters and digits only (for email addresses and domains)."""
    return "".join(ch for ch in text.lower() if ch.isascii() and ch.isalnum())


def interaction_properties(rng: random.Random, kind: str) -> dict:
    """The properties an interaction of `kind` carries (the email, url, form, asset or event)."""
    if kind in (InteractionKind.EMAIL_SENT, InteractionKind.EMAIL_OPEN):
        return {"email": rng.choice(EMAIL_NAMES)}
    if kind == InteractionKind.EMAIL_CLICK:
        return {"email": rng.choice(EMAIL_NAMES), "url": f"https://nurture.example{rng.choice(PAGES)}"}
    if kind == InteractionKind.PAGE_VISIT:
        return {"url": f"https://nurture.example{rng.choice(PAGES)}"}
    if kind == InteractionKind.FORM_SUBMIT:
        return {"form": rng.choice(FORMS)}
    if kind == InteractionKind.DOWNLOAD:
        asset = rng.choice(ASSETS)
        return {"asset": asset, "url": f"https://nurture.example/assets/{asset}.pdf"}
    return {"event": rng.choice(EVENTS)}
