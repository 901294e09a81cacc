"""Reproducible demo data, written set-based: COPY on PostgreSQL, bulk_create elsewhere.

`seed_demo(contacts=N)` adds about N/20 accounts, N contacts, 1.75 leads per
contact plus 0.2*N orphan leads (about 10% of all leads; some share an email
with an existing contact or with each other, some have none), ~5% of contacts
with an opportunity, ~10 interactions per contact over the last year, a few
subscription lists and events. The same seed and size give the same data.

The rows are written as the product stores them (interaction properties are JSON objects on every
database), in chunks of CHUNK_CONTACTS contacts (`demo.rows` draws them, `demo.writers` writes them).
Leads start as new, nurture or disqualified; `demo.workflows.demo_run_workflows` then runs what
production would have run on such data.
"""

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db import models, transaction
from django.db.models import Max
from django.utils import timezone
from faker import Faker

from crm_core.models import (
    Account,
    Contact,
    Event,
    EventRegistration,
    Industry,
    Interaction,
    JobRole,
    Lead,
    ListMembership,
    Opportunity,
    SubscriptionList,
)
from crm_core.roles import SALES

from .rows import (
    CONTACT_COLUMNS,
    INTERACTION_COLUMNS,
    LEAD_COLUMNS,
    MEMBERSHIP_COLUMNS,
    OPPORTUNITY_COLUMNS,
    REGISTRATION_COLUMNS,
    YEAR_SECONDS,
    Accounts,
    ChunkBuilder,
    ChunkRows,
    Vocabulary,
)
from .vocabulary import COUNTRIES, EVENTS, ascii_word, lead_topics
from .writers import table_writer, tables_finish

CHUNK_CONTACTS = 10_000
SUBSCRIPTION_LISTS = ("Monthly newsletter", "Product updates", "Events", "Webinars", "Partner news")
ACCOUNT_COLUMNS = [
    "id", "name", "industry", "country", "website", "employees", "annual_revenue", "owner_id",
    "parent_account_id", "created_at", "updated_at",
]  # fmt: skip
# Each chunk's rows, table by table, in the order they are written (a lead needs its contact first).
CHUNK_TABLES = (
    ("contacts", Contact, CONTACT_COLUMNS),
    ("leads", Lead, LEAD_COLUMNS),
    ("opportunities", Opportunity, OPPORTUNITY_COLUMNS),
    ("interactions", Interaction, INTERACTION_COLUMNS),
    ("memberships", ListMembership, MEMBERSHIP_COLUMNS),
    ("registrations", EventRegistration, REGISTRATION_COLUMNS),
)


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

    def add(self, rows: ChunkRows) -> None:
        self.contacts += len(rows.contacts)
        self.leads += len(rows.leads)
        self.orphan_leads += rows.orphan_leads
        self.opportunities += len(rows.opportunities)
        self.interactions += len(rows.interactions)
        self.list_memberships += len(rows.memberships)
        self.event_registrations += len(rows.registrations)


def seed_demo(*, contacts: int, seed: int = 42, progress: Callable[[int], None] | None = None) -> DemoCounts:
    """Add a demo data set of `contacts` contacts; `progress(n)` is told of each n contacts written."""
    vocabulary = _vocabulary(seed)
    accounts = _accounts_write(count=max(5, contacts // 20), seed=seed, vocabulary=vocabulary)
    counts = DemoCounts(accounts=accounts.count)
    writers = [(name, table_writer(model, columns)) for name, model, columns in CHUNK_TABLES]
    contact_base, lead_id = _next_id(Contact), _next_id(Lead)
    for chunk_start in range(0, contacts, CHUNK_CONTACTS):
        chunk = ChunkBuilder(
            vocabulary,
            accounts,
            seed=seed,
            start=chunk_start,
            size=min(CHUNK_CONTACTS, contacts - chunk_start),
            contact_base=contact_base,
            lead_id=lead_id,
        )
        rows = chunk.build()
        lead_id = chunk.lead_id
        with transaction.atomic():
            for name, writer in writers:
                writer.write(getattr(rows, name))
        counts.add(rows)
        if progress:
            progress(chunk.size)
    tables_finish(
        sequenced=[Account, Contact, Lead],
        written=[Account, *(model for _, model, _ in CHUNK_TABLES)],
    )
    return counts


def _vocabulary(seed: int) -> Vocabulary:
    """The names every chunk draws from (Faker, seeded), the sales reps who own records, and the
    subscription lists and events (made once, found by name on later runs)."""
    faker = Faker("en_US")
    faker.seed_instance(seed)
    first_names = sorted({faker.first_name() for _ in range(600)})
    last_names = sorted({faker.last_name() for _ in range(900)})
    cities = sorted({faker.city() for _ in range(300)})
    company_words = sorted({faker.last_name() for _ in range(400)})
    now = timezone.now().replace(microsecond=0)
    owners = list(get_user_model().objects.filter(groups__name=SALES).values_list("pk", flat=True))
    lists, event_ids = _lists_and_events(now)
    roles = [c for c, _ in JobRole.choices]
    return Vocabulary(
        first_names=first_names,
        last_names=last_names,
        cities=cities,
        company_words=company_words,
        topics=lead_topics(),
        now=now,
        owners=owners or [None],
        lists=lists,
        event_ids=event_ids,
        roles=roles,
        titles={r: JobRole(r).label for r in roles},
    )


@transaction.atomic
def _lists_and_events(now: datetime) -> tuple[list[int], list[int]]:
    lists = [
        SubscriptionList.objects.get_or_create(name=name, defaults={"description": f"{name} updates"})[0].pk
        for name in SUBSCRIPTION_LISTS
    ]
    event_ids = [
        Event.objects.get_or_create(
            name=name,
            defaults={"starts_at": now + timedelta(days=14 * (i - 6)), "location": COUNTRIES[i]},
        )[0].pk
        for i, name in enumerate(EVENTS)
    ]
    return lists, event_ids


def _accounts_write(*, count: int, seed: int, vocabulary: Vocabulary) -> Accounts:
    """Write `count` accounts (one COPY) and return what the contacts need of them."""
    base = _next_id(Account)
    rng = random.Random(seed)
    industries = [c for c, _ in Industry.choices]
    suffixes = ["Ltd", "Inc", "GmbH", "Group", "Systems", "Labs", "Partners"]
    accounts = Accounts(base=base, names=[], countries=[], domains=[])
    rows = []
    for i in range(count):
        word = rng.choice(vocabulary.company_words)
        name = f"{word} {rng.choice(suffixes)} {i + 1}"
        country = rng.choice(COUNTRIES)
        domain = f"{ascii_word(word)}{i + 1}.example"
        accounts.names.append(name)
        accounts.countries.append(country)
        accounts.domains.append(domain)
        created = vocabulary.now - timedelta(seconds=rng.randrange(2 * YEAR_SECONDS))
        rows.append(
            (
                base + i,
                name,
                rng.choice(industries),
                country,
                f"https://www.{domain}",
                rng.randrange(5, 50_000),
                Decimal(rng.randrange(100_000, 500_000_000)),
                rng.choice(vocabulary.owners),
                None,
                created,
                created,
            )
        )
    table_writer(Account, ACCOUNT_COLUMNS).write(rows)
    return accounts


def _next_id(model: type[models.Model]) -> int:
    return (model.objects.aggregate(m=Max("pk"))["m"] or 0) + 1
