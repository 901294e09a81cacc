"""The rows of one chunk of demo contacts, drawn from a random generator seeded by the run's seed and
the chunk's start, so the same seed and size give the same rows.

For each contact, in this order: the contact, its leads (a decision maker may get one for the
flagship event), maybe an opportunity on its first lead, its interactions over the last year, maybe a
list membership and an event registration. Then the chunk's orphan leads: no parent contact; some
carry a contact's email, some share one email among themselves, some have none. Rows are tuples in
the order of the `*_COLUMNS` lists (what `demo.writers` takes).
"""

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import NamedTuple

from crm_core.models import (
    ContactOrigin,
    JobRole,
    LeadSource,
    LeadStatus,
    OpportunityStage,
    OpportunityStatus,
    SubscriptionStatus,
)

from .vocabulary import (
    CONTOSO_DECISION_MAKER_SHARE,
    CONTOSO_TOPIC,
    COUNTRIES,
    INTERACTION_KIND_WEIGHTS,
    LEAD_STATUS_WEIGHTS,
    LEADS_PER_CONTACT_WEIGHTS,
    ORPHAN_LEADS_PER_CONTACT,
    PRODUCTS,
    ascii_word,
    interaction_properties,
    weighted_picker,
)

YEAR_SECONDS = 365 * 24 * 3600

CONTACT_COLUMNS = [
    "id", "first_name", "last_name", "email", "phone", "job_title", "job_role", "country", "city",
    "parent_account_id", "owner_id", "marketing_only", "origin", "do_not_bulk_email", "do_not_email",
    "allow_prefill", "track_email", "consent_level", "is_minor", "guardian_id", "guardian_consent",
    "created_at", "updated_at",
]  # fmt: skip
LEAD_COLUMNS = [
    "id", "topic", "first_name", "last_name", "email", "company_name", "job_title", "job_role", "status",
    "source", "parent_contact_id", "parent_account_id", "owner_id", "score", "grade", "sales_ready",
    "estimated_value", "created_at", "updated_at",
]  # fmt: skip
OPPORTUNITY_COLUMNS = [
    "name", "account_id", "contact_id", "originating_lead_id", "owner_id", "stage", "status", "amount",
    "close_date", "created_at", "updated_at",
]  # fmt: skip
INTERACTION_COLUMNS = ["contact_id", "kind", "occurred_at", "properties", "created_at"]
MEMBERSHIP_COLUMNS = ["subscription_list_id", "contact_id", "status", "subscribed_at", "unsubscribed_at"]
REGISTRATION_COLUMNS = ["event_id", "contact_id", "registered_at", "attended"]


@dataclass
class Vocabulary:
    """What every chunk draws from, made once per run (`demo.seeding`)."""

    first_names: list[str]
    last_names: list[str]
    cities: list[str]
    company_words: list[str]
    topics: list[str]
    now: datetime
    owners: list[int | None]  # the sales reps' ids ([None] when there are none)
    lists: list[int]  # subscription list ids
    event_ids: list[int]
    roles: list[str]
    titles: dict[str, str]


@dataclass
class Accounts:
    """The run's accounts, by index: id `base + index`, name, country and email domain."""

    base: int
    names: list[str]
    countries: list[str]
    domains: list[str]

    @property
    def count(self) -> int:
        return len(self.names)


@dataclass
class ChunkRows:
    contacts: list[tuple] = field(default_factory=list)
    leads: list[tuple] = field(default_factory=list)  # the orphan leads included
    opportunities: list[tuple] = field(default_factory=list)
    interactions: list[tuple] = field(default_factory=list)
    memberships: list[tuple] = field(default_factory=list)
    registrations: list[tuple] = field(default_factory=list)
    orphan_leads: int = 0


class _Person(NamedTuple):
    """A contact as its leads and opportunity repeat it."""

    id: int
    first: str
    last: str
    email: str
    role: str
    account_id: int | None
    company: str
    owner: int | None
    created: datetime


class ChunkBuilder:
    """Draws the rows of contacts `start` to `start + size - 1` of the run; lead ids go on from `lead_id`
    (read `lead_id` after `build()` for the next chunk)."""

    def __init__(
        self,
        vocabulary: Vocabulary,
        accounts: Accounts,
        *,
        seed: int,
        start: int,
        size: int,
        contact_base: int,
        lead_id: int,
    ):
        self.vocabulary, self.accounts = vocabulary, accounts
        self.start, self.size, self.contact_base, self.lead_id = start, size, contact_base, lead_id
        self.rng = random.Random(f"{seed}:{start}")
        self.pick_leads = weighted_picker(self.rng, LEADS_PER_CONTACT_WEIGHTS)
        self.pick_status = weighted_picker(self.rng, LEAD_STATUS_WEIGHTS)
        self.pick_kind = weighted_picker(self.rng, INTERACTION_KIND_WEIGHTS)
        self.sources = [c for c, _ in LeadSource.choices]
        self.rows = ChunkRows()
        self.emails: list[tuple[int, str]] = []  # (contact id, email) of the chunk's contacts

    def build(self) -> ChunkRows:
        for offset in range(self.size):
            self._contact(self.contact_base + self.start + offset)
        self._orphan_leads()
        return self.rows

    def _contact(self, cid: int) -> None:
        rng, v, accounts = self.rng, self.vocabulary, self.accounts
        first, last = rng.choice(v.first_names), rng.choice(v.last_names)
        account_index = rng.randrange(accounts.count) if rng.random() < 0.85 else None
        account_id = accounts.base + account_index if account_index is not None else None
        domain = accounts.domains[account_index] if account_index is not None else "mail.example"
        email = f"{ascii_word(first)}.{ascii_word(last)}.{cid}@{domain}"
        role = rng.choice(v.roles)
        country = accounts.countries[account_index] if account_index is not None else rng.choice(COUNTRIES)
        created = v.now - timedelta(seconds=rng.randrange(YEAR_SECONDS))
        owner = rng.choice(v.owners)
        origins = [ContactOrigin.MANUAL, ContactOrigin.IMPORT, ContactOrigin.LANDING_PAGE, ContactOrigin.API]
        self.rows.contacts.append(
            (
                cid,
                first,
                last,
                email,
                f"+1 555 {rng.randrange(10**6, 10**7)}",
                v.titles[role],
                role,
                country,
                rng.choice(v.cities),
                account_id,
                owner,
                False,
                rng.choice(origins),
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
        self.emails.append((cid, email))
        company = accounts.names[account_index] if account_index is not None else ""
        person = _Person(cid, first, last, email, role, account_id, company, owner, created)
        first_lead = self._leads(person)
        if first_lead and rng.random() < 0.05 / 0.85:
            self._opportunity(person, first_lead)
        self._interactions(cid)
        self._membership_and_registration(cid, created)

    def _leads(self, person: _Person) -> int | None:
        """The contact's leads (at least one for the flagship event when drawn); the first one's id."""
        rng, v = self.rng, self.vocabulary
        first_lead = None
        flagship = person.role == JobRole.DECISION_MAKER and rng.random() < CONTOSO_DECISION_MAKER_SHARE
        for index in range(max(self.pick_leads(), 1 if flagship else 0)):
            age = max(1, int((v.now - person.created).total_seconds()))
            lead_created = person.created + timedelta(seconds=rng.randrange(age))
            self.rows.leads.append(
                (
                    self.lead_id,
                    CONTOSO_TOPIC if flagship and index == 0 else rng.choice(v.topics),
                    person.first,
                    person.last,
                    person.email,
                    person.company,
                    v.titles[person.role],
                    person.role,
                    self.pick_status(),
                    rng.choice(self.sources),
                    person.id,
                    person.account_id,
                    person.owner,
                    0,
                    "",
                    False,
                    Decimal(rng.randrange(1_000, 250_000)),
                    lead_created,
                    lead_created,
                )
            )
            first_lead = first_lead or self.lead_id
            self.lead_id += 1
        return first_lead

    def _opportunity(self, person: _Person, lead_id: int) -> None:
        """An opportunity from the contact's first lead: 30% won, 20% lost, the rest open."""
        rng = self.rng
        won = rng.random()
        status = (
            OpportunityStatus.WON
            if won < 0.3
            else OpportunityStatus.LOST
            if won < 0.5
            else OpportunityStatus.OPEN
        )
        open_stages = [
            OpportunityStage.QUALIFICATION,
            OpportunityStage.PROPOSAL,
            OpportunityStage.NEGOTIATION,
        ]
        self.rows.opportunities.append(
            (
                f"{person.company or person.last} - {rng.choice(PRODUCTS)}",
                person.account_id,
                person.id,
                lead_id,
                person.owner,
                OpportunityStage.CLOSED if status != OpportunityStatus.OPEN else rng.choice(open_stages),
                status,
                Decimal(rng.randrange(5_000, 500_000)),
                (self.vocabulary.now + timedelta(days=rng.randrange(-180, 180))).date(),
                person.created,
                person.created,
            )
        )

    def _interactions(self, cid: int) -> None:
        """0 to 20 interactions over the last year."""
        rng, now = self.rng, self.vocabulary.now
        for _ in range(rng.randrange(0, 21)):
            kind = self.pick_kind()
            at = now - timedelta(seconds=rng.randrange(YEAR_SECONDS))
            self.rows.interactions.append((cid, kind, at, interaction_properties(rng, kind), at))

    def _membership_and_registration(self, cid: int, created: datetime) -> None:
        """30% are on a subscription list (a tenth of them unsubscribed since); 5% registered for an event."""
        rng, v = self.rng, self.vocabulary
        if rng.random() < 0.3:
            unsubscribed = rng.random() < 0.1
            status = SubscriptionStatus.UNSUBSCRIBED if unsubscribed else SubscriptionStatus.SUBSCRIBED
            self.rows.memberships.append(
                (rng.choice(v.lists), cid, status, created, v.now if unsubscribed else None)
            )
        if rng.random() < 0.05:
            self.rows.registrations.append((rng.choice(v.event_ids), cid, created, rng.random() < 0.5))

    def _orphan_leads(self) -> None:
        """ORPHAN_LEADS_PER_CONTACT orphan leads per contact: 30% with a contact's email, 30% with an email
        shared with other orphans, 30% with an email of their own, 10% with none."""
        rng, v = self.rng, self.vocabulary
        shared_pool = [
            f"{ascii_word(rng.choice(v.first_names))}.{self.start}.{k}@shared.example"
            for k in range(max(1, self.size // 50))
        ]
        orphan_count = round(self.size * ORPHAN_LEADS_PER_CONTACT)
        for k in range(orphan_count):
            draw = rng.random()
            if draw < 0.3:
                email = rng.choice(self.emails)[1]
            elif draw < 0.6:
                email = rng.choice(shared_pool)
            elif draw < 0.9:
                domain = rng.choice(["gmail.example", "outlook.example", "corp.example"])
                email = f"prospect.{self.start}.{k}@{domain}"
            else:
                email = None
            first, last = rng.choice(v.first_names), rng.choice(v.last_names)
            role = rng.choice(v.roles)
            created = v.now - timedelta(seconds=rng.randrange(YEAR_SECONDS))
            self.rows.leads.append(
                (
                    self.lead_id,
                    rng.choice(v.topics),
                    first,
                    last,
                    email,
                    f"{rng.choice(v.company_words)} Ltd",
                    v.titles[role],
                    role,
                    LeadStatus.NEW,
                    rng.choice([LeadSource.COLD_CALL, LeadSource.EVENT, LeadSource.REFERRAL]),
                    None,
                    None,
                    rng.choice(v.owners),
                    0,
                    "",
                    False,
                    Decimal(rng.randrange(1_000, 100_000)),
                    created,
                    created,
                )
            )
            self.lead_id += 1
        self.rows.orphan_leads = orphan_count
