"""Hooks other apps offer crm_core, found through Django's app registry.

crm_core sits below every app, so it cannot import them; an app that holds something crm_core's
work must reach (a contact's form submissions when erasing it, its enrollments when merging it)
offers an optional module `<app>/<name>.py` (`privacy_hooks`, `merge_hooks`), and crm_core calls
every installed app's, in INSTALLED_APPS order.
"""

from __future__ import annotations

import importlib
import importlib.util
from types import ModuleType

from django.apps import apps


def _module_exists(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except ModuleNotFoundError:  # the app is a module, not a package
        return False


def app_hook_modules(module: str) -> list[ModuleType]:
    """The `<app>.<module>` module of every installed app that has one, in INSTALLED_APPS order."""
    names = [f"{config.name}.{module}" for config in apps.get_app_configs()]
    return [importlib.import_module(name) for name in names if _module_exists(name)]
