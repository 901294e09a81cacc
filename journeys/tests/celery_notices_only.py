"""The project's Celery app for a test worker whose pool processes hear CRM changes through change
notices only: the transitional model-signal receivers are disconnected in each of them.

Run as `celery -A journeys.tests.celery_notices_only worker ...`."""

import logging

from celery.signals import worker_process_init

from config.celery_app import app
from journeys.tests.model_signals import WORKER_MARK, disconnect_model_receivers, model_receivers_connected

__all__ = ["app"]
log = logging.getLogger(__name__)


@worker_process_init.connect
def _without_model_receivers(**kwargs) -> None:
    disconnect_model_receivers()
    log.warning("%s %s", WORKER_MARK, model_receivers_connected())
