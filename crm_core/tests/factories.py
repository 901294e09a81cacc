import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.utils import timezone

from crm_core import models
from crm_core.roles import MARKETING, SALES


def _role(default: str | None):
    """A post-generation hook that puts the user in a role group (overridable: `role="sales"`)."""

    def add_to_group(user, create, extracted, **kwargs):
        name = extracted or default
        if create and name:
            user.groups.add(Group.objects.get(name=name))

    return factory.PostGeneration(add_to_group)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@nurture.invalid")
    password = factory.django.Password("correct horse battery")
    role = _role(None)


class MarketerFactory(UserFactory):
    role = _role(MARKETING)


class SalesRepFactory(UserFactory):
    role = _role(SALES)


class AdminUserFactory(UserFactory):
    is_staff = True
    is_superuser = True


class AccountFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Account

    name = factory.Faker("company")
    industry = factory.Iterator([c for c, _ in models.Industry.choices])
    country = factory.Faker("country")
    website = factory.Faker("url")
    employees = factory.Faker("pyint", min_value=1, max_value=10_000)


class ContactFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Contact

    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    email = factory.Sequence(lambda n: f"contact{n}@example.com")
    job_title = factory.Faker("job")
    job_role = models.JobRole.END_USER
    country = "Germany"
    consent_level = models.ConsentLevel.MARKETING


class LeadFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Lead

    topic = "Contoso Ltd Conference"
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    email = factory.Sequence(lambda n: f"lead{n}@example.com")
    company_name = factory.Faker("company")
    parent_contact = factory.SubFactory(ContactFactory)


class OrphanLeadFactory(LeadFactory):
    parent_contact = None


class OpportunityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Opportunity

    name = factory.Faker("catch_phrase")
    contact = factory.SubFactory(ContactFactory)
    amount = 10_000


class InteractionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Interaction

    contact = factory.SubFactory(ContactFactory)
    kind = models.InteractionKind.EMAIL_OPEN
    occurred_at = factory.LazyFunction(timezone.now)
    properties = factory.LazyFunction(lambda: {"email": "Newsletter 1"})


class SubscriptionListFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.SubscriptionList

    name = factory.Sequence(lambda n: f"List {n}")


class ListMembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.ListMembership

    subscription_list = factory.SubFactory(SubscriptionListFactory)
    contact = factory.SubFactory(ContactFactory)
    subscribed_at = factory.LazyFunction(timezone.now)


class EventFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Event

    name = factory.Sequence(lambda n: f"Event {n}")
    starts_at = factory.LazyFunction(timezone.now)


class EventRegistrationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.EventRegistration

    event = factory.SubFactory(EventFactory)
    contact = factory.SubFactory(ContactFactory)
    registered_at = factory.LazyFunction(timezone.now)
