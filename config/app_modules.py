"""Find the optional per-app modules (API routes, URL confs) the project wires together."""

import importlib
import importlib.util
from types import ModuleType

LOCAL_APPS = ("crm_core", "segments", "leadscoring", "journeys", "landing", "sales", "workspace", "demo")


def module_exists(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except ModuleNotFoundError:  # a parent package is missing
        return False


def app_modules(suffix: str) -> list[ModuleType]:
    """`<app>.<suffix>` for every local app that has one, in LOCAL_APPS order."""
    names = [f"{app}.{suffix}" for app in LOCAL_APPS]
    return [importlib.import_module(name) for name in names if module_exists(name)]
