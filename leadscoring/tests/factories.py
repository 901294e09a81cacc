import factory

from crm_core.models import InteractionKind
from leadscoring.models import DecayMode, GradeBand, ScoringModel, ScoringModelStatus, ScoringRule


class ScoringModelFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ScoringModel

    name = factory.Sequence(lambda n: f"Model {n}")
    status = ScoringModelStatus.LIVE
    is_primary = False
    sales_ready_threshold = 100
    decay_mode = DecayMode.NONE
    decay_days = None


class PrimaryScoringModelFactory(ScoringModelFactory):
    is_primary = True


class ScoringRuleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ScoringRule

    model = factory.SubFactory(ScoringModelFactory)
    name = factory.Sequence(lambda n: f"Rule {n}")
    interaction_kind = InteractionKind.EMAIL_OPEN
    points = 10


class GradeBandFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = GradeBand

    model = factory.SubFactory(ScoringModelFactory)
    grade = "A"
    min_score = 0
    max_score = None
