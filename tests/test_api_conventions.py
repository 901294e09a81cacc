"""One way for each recurring thing in every app's API layer: request serializers refuse unknown
fields with one body, and writes reach the owning services, never a serializer's save()."""

import pytest
from rest_framework.mixins import CreateModelMixin, UpdateModelMixin

from config.api_router import router
from crm_core.api.events import EventRegistrationSerializer, EventSerializer
from crm_core.api.lead_actions import LeadIdentityLinkSerializer, LeadQualifySerializer
from crm_core.api.serializers import (
    AccountSerializer,
    ContactSerializer,
    InteractionSerializer,
    LeadAssignSerializer,
    LeadSerializer,
    OpportunitySerializer,
    SubscriptionListSerializer,
)
from crm_core.api.writes import ServiceWritesMixin
from journeys.api.serializers import JourneySerializer
from landing.api.serializers import FormFieldSerializer, LandingPageSerializer
from leadscoring.api.serializers import GradeBandSerializer, ScoringModelSerializer, ScoringRuleSerializer
from sales.api.serializers import ActivitySerializer, TaskSerializer
from segments.api.serializers import SegmentSerializer

REQUEST_SERIALIZERS = [
    AccountSerializer,
    ContactSerializer,
    LeadSerializer,
    OpportunitySerializer,
    InteractionSerializer,
    SubscriptionListSerializer,
    EventSerializer,
    EventRegistrationSerializer,
    LeadAssignSerializer,
    LeadQualifySerializer,
    LeadIdentityLinkSerializer,
    JourneySerializer,
    LandingPageSerializer,
    FormFieldSerializer,
    ScoringModelSerializer,
    ScoringRuleSerializer,
    GradeBandSerializer,
    ActivitySerializer,
    TaskSerializer,
    SegmentSerializer,
]


@pytest.mark.django_db
@pytest.mark.parametrize("serializer_class", REQUEST_SERIALIZERS, ids=lambda cls: cls.__name__)
def test_every_request_serializer_refuses_an_unknown_field_with_the_same_error(serializer_class):
    serializer = serializer_class(data={"shoe_size": 44})
    assert not serializer.is_valid()
    assert serializer.errors["shoe_size"] == ["Unknown field."]


WRITING_VIEWSETS = [
    viewset for _, viewset, _ in router.registry if issubclass(viewset, CreateModelMixin | UpdateModelMixin)
]


@pytest.mark.parametrize("viewset", WRITING_VIEWSETS, ids=lambda cls: cls.__name__)
def test_no_viewset_writes_through_its_serializer(viewset):
    if issubclass(viewset, ServiceWritesMixin):
        assert viewset.create_service is not None and viewset.update_service is not None
    else:  # a viewset of its own calls its app's services in perform_create / perform_update
        assert viewset.perform_create is not CreateModelMixin.perform_create
        assert viewset.perform_update is not UpdateModelMixin.perform_update
