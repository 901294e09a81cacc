"""Events and their registrations over the API (marketing and admin write: `access.check_event_manage`;
every role reads):

- `/api/events/`: CRUD; deleting an event deletes its registrations (their interactions stay);
- `/api/event-registrations/`: `POST {event, contact}` or `{event, email}` registers an existing
  contact (201; already registered: 200 with the stored registration, nothing written twice);
  `PATCH {attended: true}` marks attendance (recorded once); `DELETE` removes the registration.

Registering and attending record `event_registration` / `event_attendance` interactions (see
crm_core.services.event_registrations), so they score and segment.
"""

from __future__ import annotations

from rest_framework import serializers, status
from rest_framework.response import Response

from crm_core import access, models, services

from .filters import DATE_RANGE, StrictFilterSet
from .serializers import NormalizedEmailField, StrictModelSerializer
from .views import CRMModelViewSet


class EventSerializer(StrictModelSerializer):
    class Meta:
        model = models.Event
        fields = ["id", "name", "starts_at", "location", "capacity", "created_at", "updated_at"]
        read_only_fields = ["id", "created_at", "updated_at"]


class EventRegistrationSerializer(StrictModelSerializer):
    """Create with `event` and either `contact` (id) or `email` (of an existing contact); afterwards
    only `attended` changes."""

    email = NormalizedEmailField(
        write_only=True,
        required=False,
        help_text="Register the contact with this email (instead of `contact`).",
    )

    class Meta:
        model = models.EventRegistration
        fields = ["id", "event", "contact", "email", "registered_at", "attended"]
        read_only_fields = ["id"]
        extra_kwargs = {"contact": {"required": False}, "registered_at": {"required": False}}
        # The (event, contact) pair is checked by the service (already registered: 200), not here.
        validators = []

    def validate(self, attrs):
        if self.instance is not None:
            fixed = sorted(name for name in ("event", "contact", "email", "registered_at") if name in attrs)
            if fixed:
                message = "Cannot be changed: delete the registration and register again."
                raise serializers.ValidationError({name: [message] for name in fixed})
            return attrs
        email = attrs.pop("email", None)
        if (email is None) == (attrs.get("contact") is None):
            raise serializers.ValidationError({"contact": ["Give either `contact` or `email`, not both."]})
        if email is not None:
            contact = models.Contact.objects.filter(email=email).first()
            if contact is None:
                raise serializers.ValidationError({"email": ["No contact has this email."]})
            attrs["contact"] = contact
        return attrs


class EventFilter(StrictFilterSet):
    class Meta:
        model = models.Event
        fields = {"name": ["exact"], "starts_at": DATE_RANGE}


class EventRegistrationFilter(StrictFilterSet):
    class Meta:
        model = models.EventRegistration
        fields = {"event": ["exact"], "contact": ["exact"], "attended": ["exact"]}


class _EventManageMixin:
    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        if request.method not in ("GET", "HEAD", "OPTIONS"):
            access.check_event_manage(request.user)


class EventViewSet(_EventManageMixin, CRMModelViewSet):
    """Events (marketing and admin write; everyone reads)."""

    queryset = models.Event.objects.all()
    serializer_class = EventSerializer
    filterset_class = EventFilter
    search_fields = ["name", "location"]
    ordering_fields = ["id", "name", "created_at"]
    create_service = staticmethod(services.event_create)
    update_service = staticmethod(services.event_update)
    delete_service = staticmethod(services.event_delete)


class EventRegistrationViewSet(_EventManageMixin, CRMModelViewSet):
    """Registrations of contacts for events (marketing and admin write; everyone reads)."""

    queryset = models.EventRegistration.objects.all()
    serializer_class = EventRegistrationSerializer
    filterset_class = EventRegistrationFilter
    ordering_fields = ["id", "registered_at"]
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    instance_kw = "registration"
    delete_service = staticmethod(services.registration_delete)

    @staticmethod
    def create_service(*, actor, event, contact, registered_at=None, attended=False):
        registration, created = services.event_register(
            event=event, contact=contact, registered_at=registered_at, actor=actor
        )
        if attended:
            registration = services.registration_attend(registration=registration, actor=actor)
        registration.created = created
        return registration

    @staticmethod
    def update_service(*, registration, actor, **values):
        return services.registration_save(registration=registration, actor=actor, **values)

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        self.perform_create(serializer)
        created = getattr(serializer.instance, "created", True)
        return Response(serializer.data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)
