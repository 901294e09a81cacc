"""API writes reach the owning services: the one mixin for model viewsets.

crm_core's, sales', landing's and lead scoring's viewsets use it; segments' and journeys' viewsets
call their services from their own `perform_create`/`perform_update` (their writes take extra
arguments), which is the same rule: a view calls the service, a serializer only validates.

A viewset names the services that write its model, and `perform_create`, `perform_update` and
`perform_destroy` call them with the validated fields and the acting user (never a serializer's
`save()`, `create()` or `update()`):

    create_service(actor=user, **validated_data) -> the new instance
    update_service(<instance_kw>=instance, actor=user, **validated_data) -> the changed instance
    delete_service(<instance_kw>=instance, actor=user)

`instance_kw` is the model's name (`contact=`, `lead=`) unless the viewset names another. A service
with another signature is adapted by a staticmethod of that name on the viewset. A model without a
delete service is deleted plainly (nothing else has to happen when its row goes).

Each write runs in a transaction; a lost race on a unique value (an IntegrityError after the
serializer's checks passed) answers 400, with the field and message `conflicts` names for the
constraint. A service's Django ValidationError answers 400 through the API's exception handler, a
protected delete 409.
"""

from __future__ import annotations

from contextlib import contextmanager

from django.core.exceptions import ImproperlyConfigured
from django.db import IntegrityError, transaction
from rest_framework.exceptions import ValidationError

CONFLICT = ("non_field_errors", "Conflicts with the stored data.")


class ServiceWritesMixin:
    create_service = None
    update_service = None
    delete_service = None
    instance_kw: str | None = None
    # Constraint name -> (field, message) for conflicts the database catches after validation.
    conflicts: dict[str, tuple[str, str]] = {}

    def _service(self, name: str):
        service = getattr(type(self), name)
        if service is None:
            raise ImproperlyConfigured(f"{type(self).__name__} writes through services: set `{name}`.")
        return service

    def _instance_kw(self, instance) -> str:
        return self.instance_kw or type(instance)._meta.model_name

    def conflict_error(self, error: IntegrityError) -> dict:
        """The 400 body for a write the database refused as a conflict."""
        constraint = getattr(getattr(error.__cause__, "diag", None), "constraint_name", None)
        field, message = self.conflicts.get(constraint, CONFLICT)
        return {field: [message]}

    @contextmanager
    def conflicts_as_400(self):
        """Run a write in a transaction; a lost race on a unique value (or a row deleted meanwhile)
        becomes a 400 instead of a 500."""
        try:
            with transaction.atomic():
                yield
        except IntegrityError as error:
            raise ValidationError(self.conflict_error(error)) from error

    def perform_create(self, serializer):
        create = self._service("create_service")
        with self.conflicts_as_400():
            serializer.instance = create(actor=self.request.user, **serializer.validated_data)

    def perform_update(self, serializer):
        update, instance = self._service("update_service"), serializer.instance
        with self.conflicts_as_400():
            serializer.instance = update(
                **{self._instance_kw(instance): instance},
                actor=self.request.user,
                **serializer.validated_data,
            )

    def perform_destroy(self, instance):
        with transaction.atomic():
            if self.delete_service is None:
                instance.delete()
            else:
                type(self).delete_service(**{self._instance_kw(instance): instance}, actor=self.request.user)
