"""Reproducible demo data, written set-based: COPY on PostgreSQL, bulk_create elsewhere.

`seed_demo(contacts=N)` adds about N/20 accounts, N contacts, 1.75 leads per
contact plus 0.2*N orphan leads (about 10% of all leads; some share an email
with an existing contact or with each other, some have none), ~5% of contacts
with an opportunity, ~10 interactions per contact over the last year, a few
subscription lists and events. The same seed and size give the same data.

The rows are written as the product stores them (interaction properties are JSON objects on every
database). Leads start as new, nurture or disqualified; `demo_run_workflows` then runs what
production would have run on such data: the orphan-lead workflow, the live scoring models (which
hand sales-ready leads to sales), what sales did with them, and the live segments.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.core.management.color import no_style
from django.db import connection, models, transaction
from django.db.models import Max
from django.utils import timezone
from faker import Faker

from crm_core.models import (
    Account,
    Contact,
    ContactOrigin,
    Event,
    EventRegistration,
    Industry,
    Interaction,
    InteractionKind,
    JobRole,
    Lead,
    LeadSource,
    LeadStatus,
    LeadStatusChange,
    ListMembership,
    Opportunity,
    OpportunityStage,
    OpportunityStatus,
    SubscriptionList,
    SubscriptionStatus,
)

CHUNK_CONTACTS = 10_000
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
# Of the leads scoring hands to sales, the share sales has accepted so far (by lead id, reproducible).
SALES_ACCEPTED_PER_TEN = 4
LEADS_PER_CONTACT_WEIGHTS = [(0, 15), (1, 30), (2, 30), (3, 15), (4, 10)]  # mean 1.75
ORPHAN_LEADS_PER_CONTACT = 0.2


def lead_topics() -> list[str]:
    """About 200 topics: every event, then product x offer."""
    topics = list(EVENTS)
    topics += [f"{product} {offer}" for product in PRODUCTS for offer in OFFERS][: 200 - len(topics)]
    return topics


@dataclass
class DemoCounts:
    accounts: int = 0
    contacts: int = 0
    leads: int = 0
    orphan_leads: int = 0
    opportunities: int = 0
    interactions: int = 0
    list_memberships: int = 0
    event_registrations: int = 0
    extra: dict = field(default_factory=dict)


class _Writer:
    """Appends rows (tuples in `columns` order) to one table, set-based."""

    def __init__(self, model: type[models.Model], columns: list[str]):
        self.model = model
        self.columns = columns
        # Columns holding JSON: rows carry the Python objects; COPY takes their JSON text.
        self.json_positions = [
            i for i, c in enumerate(columns) if isinstance(model._meta.get_field(c), models.JSONField)
        ]

    def write(self, rows: list[tuple]) -> None:
        if not rows:
            return
        if connection.vendor == "postgresql":
            db_columns = ", ".join(
                connection.ops.quote_name(self.model._meta.get_field(c).column) for c in self.columns
            )
            sql = f"COPY {connection.ops.quote_name(self.model._meta.db_table)} ({db_columns}) FROM STDIN"
            with connection.cursor() as cursor, cursor.cursor.copy(sql) as copy:
                for row in rows:
                    if self.json_positions:
                        row = list(row)
                        for i in self.json_positions:
                            row[i] = json.dumps(row[i])
                    copy.write_row(row)
        else:
            self.model.objects.bulk_create(
                (self.model(**dict(zip(self.columns, row, strict=True))) for row in rows), batch_size=500
            )


def _weighted(rng: random.Random, weighted: list[tuple]) -> Callable[[], object]:
    values = [v for v, _ in weighted]
    cum = []
    total = 0
    for _, w in weighted:
        total += w
        cum.append(total)

    def pick():
        return rng.choices(values, cum_weights=cum)[0]

    return pick


def _next_id(model: type[models.Model]) -> int:
    return (model.objects.aggregate(m=Max("pk"))["m"] or 0) + 1


def _ascii(text: str) -> str:
    return "".join(ch for ch in text.lower() if ch.isascii() and ch.isalnum())


def _interaction_properties(rng: random.Random, kind: str) -> dict:
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


def seed_demo(*, contacts: int, seed: int = 42, progress: Callable[[int], None] | None = None) -> DemoCounts:
    """Add a demo data set of `contacts` contacts; `progress(n)` is told of each n contacts written."""
    faker = Faker("en_US")
    faker.seed_instance(seed)
    first_names = sorted({faker.first_name() for _ in range(600)})
    last_names = sorted({faker.last_name() for _ in range(900)})
    cities = sorted({faker.city() for _ in range(300)})
    company_words = sorted({faker.last_name() for _ in range(400)})
    topics = lead_topics()
    now = timezone.now().replace(microsecond=0)
    year = 365 * 24 * 3600
    owners = list(get_user_model().objects.filter(groups__name="sales").values_list("pk", flat=True)) or [
        None
    ]

    counts = DemoCounts()
    with transaction.atomic():
        lists = [
            SubscriptionList.objects.get_or_create(name=name, defaults={"description": f"{name} updates"})[
                0
            ].pk
            for name in ("Monthly newsletter", "Product updates", "Events", "Webinars", "Partner news")
        ]
        event_ids = [
            Event.objects.get_or_create(
                name=name,
                defaults={"starts_at": now + timedelta(days=14 * (i - 6)), "location": COUNTRIES[i]},
            )[0].pk
            for i, name in enumerate(EVENTS)
        ]

    n_accounts = max(5, contacts // 20)
    account_base = _next_id(Account)
    rng = random.Random(seed)
    industries = [c for c, _ in Industry.choices]
    account_rows = []
    account_country: list[str] = []
    account_domain: list[str] = []
    for i in range(n_accounts):
        word = rng.choice(company_words)
        name = f"{word} {rng.choice(['Ltd', 'Inc', 'GmbH', 'Group', 'Systems', 'Labs', 'Partners'])} {i + 1}"
        country = rng.choice(COUNTRIES)
        domain = f"{_ascii(word)}{i + 1}.example"
        account_country.append(country)
        account_domain.append(domain)
        created = now - timedelta(seconds=rng.randrange(2 * year))
        account_rows.append(
            (
                account_base + i,
                name,
                rng.choice(industries),
                country,
                f"https://www.{domain}",
                rng.randrange(5, 50_000),
                Decimal(rng.randrange(100_000, 500_000_000)),
                rng.choice(owners),
                None,
                created,
                created,
            )
        )
    _Writer(
        Account,
        [
            "id",
            "name",
            "industry",
            "country",
            "website",
            "employees",
            "annual_revenue",
            "owner_id",
            "parent_account_id",
            "created_at",
            "updated_at",
        ],
    ).write(account_rows)
    counts.accounts = n_accounts

    contact_writer = _Writer(
        Contact,
        [
            "id",
            "first_name",
            "last_name",
            "email",
            "phone",
            "job_title",
            "job_role",
            "country",
            "city",
            "parent_account_id",
            "owner_id",
            "marketing_only",
            "origin",
            "do_not_bulk_email",
            "do_not_email",
            "allow_prefill",
            "track_email",
            "consent_level",
            "is_minor",
            "guardian_id",
            "guardian_consent",
            "created_at",
            "updated_at",
        ],
    )
    lead_writer = _Writer(
        Lead,
        [
            "id",
            "topic",
            "first_name",
            "last_name",
            "email",
            "company_name",
            "job_title",
            "job_role",
            "status",
            "source",
            "parent_contact_id",
            "parent_account_id",
            "owner_id",
            "score",
            "grade",
            "sales_ready",
            "estimated_value",
            "created_at",
            "updated_at",
        ],
    )
    opportunity_writer = _Writer(
        Opportunity,
        [
            "name",
            "account_id",
            "contact_id",
            "originating_lead_id",
            "owner_id",
            "stage",
            "status",
            "amount",
            "close_date",
            "created_at",
            "updated_at",
        ],
    )
    interaction_writer = _Writer(
        Interaction, ["contact_id", "kind", "occurred_at", "properties", "created_at"]
    )
    membership_writer = _Writer(
        ListMembership, ["subscription_list_id", "contact_id", "status", "subscribed_at", "unsubscribed_at"]
    )
    registration_writer = _Writer(EventRegistration, ["event_id", "contact_id", "registered_at", "attended"])

    contact_base = _next_id(Contact)
    lead_id = _next_id(Lead)
    roles = [c for c, _ in JobRole.choices]
    titles = {r: JobRole(r).label for r in roles}

    for chunk_start in range(0, contacts, CHUNK_CONTACTS):
        chunk_size = min(CHUNK_CONTACTS, contacts - chunk_start)
        rng = random.Random(f"{seed}:{chunk_start}")
        pick_leads = _weighted(rng, LEADS_PER_CONTACT_WEIGHTS)
        pick_status = _weighted(rng, LEAD_STATUS_WEIGHTS)
        pick_kind = _weighted(rng, INTERACTION_KIND_WEIGHTS)
        sources = [c for c, _ in LeadSource.choices]
        contact_rows, lead_rows, opp_rows, inter_rows, member_rows, reg_rows = [], [], [], [], [], []
        chunk_emails: list[tuple[int, str]] = []
        for offset in range(chunk_size):
            cid = contact_base + chunk_start + offset
            first, last = rng.choice(first_names), rng.choice(last_names)
            account_index = rng.randrange(n_accounts) if rng.random() < 0.85 else None
            account_id = account_base + account_index if account_index is not None else None
            domain = account_domain[account_index] if account_index is not None else "mail.example"
            email = f"{_ascii(first)}.{_ascii(last)}.{cid}@{domain}"
            role = rng.choice(roles)
            country = account_country[account_index] if account_index is not None else rng.choice(COUNTRIES)
            created = now - timedelta(seconds=rng.randrange(year))
            owner = rng.choice(owners)
            contact_rows.append(
                (
                    cid,
                    first,
                    last,
                    email,
                    f"+1 555 {rng.randrange(10**6, 10**7)}",
                    titles[role],
                    role,
                    country,
                    rng.choice(cities),
                    account_id,
                    owner,
                    False,
                    rng.choice(
                        [
                            ContactOrigin.MANUAL,
                            ContactOrigin.IMPORT,
                            ContactOrigin.LANDING_PAGE,
                            ContactOrigin.API,
                        ]
                    ),
                    rng.random() < 0.08,
                    rng.random() < 0.03,
                    rng.random() < 0.6,
                    rng.random() < 0.9,
                    rng.randrange(0, 6),
                    rng.random() < 0.01,
                    None,
                    False,
                    created,
                    created,
                )
            )
            chunk_emails.append((cid, email))
            company = account_rows[account_index][1] if account_index is not None else ""
            first_lead = None
            flagship = role == JobRole.DECISION_MAKER and rng.random() < CONTOSO_DECISION_MAKER_SHARE
            for index in range(max(pick_leads(), 1 if flagship else 0)):
                lead_created = created + timedelta(
                    seconds=rng.randrange(max(1, int((now - created).total_seconds())))
                )
                lead_rows.append(
                    (
                        lead_id,
                        CONTOSO_TOPIC if flagship and index == 0 else rng.choice(topics),
                        first,
                        last,
                        email,
                        company,
                        titles[role],
                        role,
                        pick_status(),
                        rng.choice(sources),
                        cid,
                        account_id,
                        owner,
                        0,
                        "",
                        False,
                        Decimal(rng.randrange(1_000, 250_000)),
                        lead_created,
                        lead_created,
                    )
                )
                first_lead = first_lead or lead_id
                lead_id += 1
            if first_lead and rng.random() < 0.05 / 0.85:
                won = rng.random()
                status = (
                    OpportunityStatus.WON
                    if won < 0.3
                    else OpportunityStatus.LOST
                    if won < 0.5
                    else OpportunityStatus.OPEN
                )
                opp_rows.append(
                    (
                        f"{company or last} - {rng.choice(PRODUCTS)}",
                        account_id,
                        cid,
                        first_lead,
                        owner,
                        OpportunityStage.CLOSED
                        if status != OpportunityStatus.OPEN
                        else rng.choice(
                            [
                                OpportunityStage.QUALIFICATION,
                                OpportunityStage.PROPOSAL,
                                OpportunityStage.NEGOTIATION,
                            ]
                        ),
                        status,
                        Decimal(rng.randrange(5_000, 500_000)),
                        (now + timedelta(days=rng.randrange(-180, 180))).date(),
                        created,
                        created,
                    )
                )
            for _ in range(rng.randrange(0, 21)):
                kind = pick_kind()
                at = now - timedelta(seconds=rng.randrange(year))
                inter_rows.append((cid, kind, at, _interaction_properties(rng, kind), at))
            if rng.random() < 0.3:
                unsubscribed = rng.random() < 0.1
                member_rows.append(
                    (
                        rng.choice(lists),
                        cid,
                        SubscriptionStatus.UNSUBSCRIBED if unsubscribed else SubscriptionStatus.SUBSCRIBED,
                        created,
                        now if unsubscribed else None,
                    )
                )
            if rng.random() < 0.05:
                reg_rows.append((rng.choice(event_ids), cid, created, rng.random() < 0.5))

        # Orphan leads: no parent contact. Some carry an existing contact's email,
        # some share one email among themselves, some have none.
        shared_pool = [
            f"{_ascii(rng.choice(first_names))}.{chunk_start}.{k}@shared.example"
            for k in range(max(1, chunk_size // 50))
        ]
        orphan_count = round(chunk_size * ORPHAN_LEADS_PER_CONTACT)
        for k in range(orphan_count):
            draw = rng.random()
            if draw < 0.3:
                email = rng.choice(chunk_emails)[1]
            elif draw < 0.6:
                email = rng.choice(shared_pool)
            elif draw < 0.9:
                domain = rng.choice(["gmail.example", "outlook.example", "corp.example"])
                email = f"prospect.{chunk_start}.{k}@{domain}"
            else:
                email = None
            first, last = rng.choice(first_names), rng.choice(last_names)
            role = rng.choice(roles)
            created = now - timedelta(seconds=rng.randrange(year))
            lead_rows.append(
                (
                    lead_id,
                    rng.choice(topics),
                    first,
                    last,
                    email,
                    f"{rng.choice(company_words)} Ltd",
                    titles[role],
                    role,
                    LeadStatus.NEW,
                    rng.choice([LeadSource.COLD_CALL, LeadSource.EVENT, LeadSource.REFERRAL]),
                    None,
                    None,
                    rng.choice(owners),
                    0,
                    "",
                    False,
                    Decimal(rng.randrange(1_000, 100_000)),
                    created,
                    created,
                )
            )
            lead_id += 1
        counts.orphan_leads += orphan_count

        with transaction.atomic():
            contact_writer.write(contact_rows)
            lead_writer.write(lead_rows)
            opportunity_writer.write(opp_rows)
            interaction_writer.write(inter_rows)
            membership_writer.write(member_rows)
            registration_writer.write(reg_rows)
        counts.contacts += len(contact_rows)
        counts.leads += len(lead_rows)
        counts.opportunities += len(opp_rows)
        counts.interactions += len(inter_rows)
        counts.list_memberships += len(member_rows)
        counts.event_registrations += len(reg_rows)
        if progress:
            progress(chunk_size)

    _reset_sequences([Account, Contact, Lead])
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            for model in (
                Account,
                Contact,
                Lead,
                Opportunity,
                Interaction,
                ListMembership,
                EventRegistration,
            ):
                cursor.execute(f"ANALYZE {connection.ops.quote_name(model._meta.db_table)}")
    return counts


def _reset_sequences(model_list: Iterable[type[models.Model]]) -> None:
    statements = connection.ops.sequence_reset_sql(no_style(), list(model_list))
    with connection.cursor() as cursor:
        for sql in statements:
            cursor.execute(sql)


# --- What production would have run on the demo's rows -------------------------------------------


@dataclass
class DemoWorkflows:
    orphans_linked: int = 0
    marketing_only_contacts: int = 0
    leads_handed_off: int = 0
    sales_accepted: int = 0
    qualified: int = 0
    segments_refreshed: int = 0


def demo_run_workflows() -> DemoWorkflows:
    """Run, set-based and in order, what the worker would have run had the demo's rows come in one
    by one: the orphan-lead workflow, the live scoring models (with the sales-ready hand-off), what
    sales did with the leads (`_demo_sales_history`) and a refresh of the live segments."""
    from crm_core.services import lead_link_orphans
    from leadscoring.services import scoring_models_recompute_live
    from segments.services import segments_refresh_live

    done = DemoWorkflows()
    linked = lead_link_orphans()
    done.orphans_linked, done.marketing_only_contacts = linked.leads_linked, linked.contacts_created
    results = scoring_models_recompute_live()
    done.leads_handed_off = sum(result.handed_off for result in results.values())
    done.sales_accepted, done.qualified = _demo_sales_history()
    done.segments_refreshed = len(segments_refresh_live())
    return done


@transaction.atomic
def _demo_sales_history() -> tuple[int, int]:
    """The lead behind each seeded opportunity is qualified (its contact is a sales contact), and
    sales has accepted SALES_ACCEPTED_PER_TEN in ten of the other leads scoring handed over.
    Three statements per step, whatever the size; each move is in the leads' history."""
    now = timezone.now()
    actor_reason = "Demo data: what sales did with the lead."
    moved = []
    steps = (
        (
            LeadStatus.QUALIFIED,
            Lead.objects.filter(opportunities__isnull=False).exclude(status=LeadStatus.QUALIFIED).distinct(),
        ),
        (
            LeadStatus.SALES_ACCEPTED,
            Lead.objects.annotate(bucket=models.functions.Mod("id", 10)).filter(
                status=LeadStatus.MARKETING_QUALIFIED, bucket__lt=SALES_ACCEPTED_PER_TEN
            ),
        ),
    )
    for to_status, leads in steps:
        rows = list(leads.values_list("id", "status"))
        ids = [lead_id for lead_id, _ in rows]
        for start in range(0, len(ids), 10_000):  # within every database's parameter limit
            Lead.objects.filter(pk__in=ids[start : start + 10_000]).update(status=to_status, updated_at=now)
        LeadStatusChange.objects.bulk_create(
            (
                LeadStatusChange(
                    lead_id=lead_id,
                    from_status=status,
                    to_status=to_status,
                    reason=actor_reason,
                    changed_at=now,
                )
                for lead_id, status in rows
            ),
            batch_size=1000,
        )
        moved.append(len(ids))
    Contact.objects.filter(marketing_only=True, leads__status=LeadStatus.QUALIFIED).update(
        marketing_only=False, updated_at=now
    )
    return moved[1], moved[0]
