"""The architecture contract (.importlinter, run by `make lint`) holds, and it would catch a break.

The contract is checked on the real import graph; then one deliberate upward import and one circle
are added to a copy of the graph to show that each contract fails on them.
"""

from pathlib import Path

import grimp
import pytest
from importlinter import api
from importlinter.contracts.acyclic_siblings import AcyclicSiblingsContract
from importlinter.contracts.layers import LayersContract

CONFIG = api.read_configuration(str(Path(__file__).resolve().parent.parent / ".importlinter"))
CONTRACT_TYPES = {"layers": LayersContract, "acyclic_siblings": AcyclicSiblingsContract}


@pytest.fixture
def graph() -> grimp.ImportGraph:
    session = CONFIG["session_options"]
    # A fresh graph for each test: checking a contract removes its ignored imports from the graph.
    return grimp.build_graph(
        *session["root_packages"],
        include_external_packages=False,
        exclude_type_checking_imports=True,
        cache_dir=None,
    )


def contract(contract_id: str):
    options = next(o for o in CONFIG["contracts_options"] if o["id"] == contract_id)
    options = {key: value for key, value in options.items() if key not in ("id", "name", "type")}
    kind = next(o["type"] for o in CONFIG["contracts_options"] if o["id"] == contract_id)
    return CONTRACT_TYPES[kind](
        name=contract_id, session_options=CONFIG["session_options"], contract_options=options
    )


@pytest.mark.parametrize("contract_id", ["layers", "no-circles"])
def test_the_code_keeps_the_contract(graph, contract_id):
    check = contract(contract_id).check(graph, verbose=False)
    assert check.kept, check.metadata


def test_an_upward_import_breaks_the_layers(graph):
    # crm_core, the ground floor, reaching up into segments:
    graph.add_import(
        importer="crm_core.services.records",
        imported="segments.models",
        line_number=1,
        line_contents="import",
    )
    check = contract("layers").check(graph, verbose=False)
    assert not check.kept
    reported = str(check.metadata)
    assert "crm_core.services.records" in reported and "segments.models" in reported


def test_a_circle_inside_an_app_breaks_the_contract(graph):
    # crm_core.tasks imports crm_core.services; a service importing the tasks module closes a circle:
    graph.add_import(
        importer="crm_core.services.records", imported="crm_core.tasks", line_number=1, line_contents="import"
    )
    check = contract("no-circles").check(graph, verbose=False)
    assert not check.kept
    assert "crm_core" in check.metadata["cycle_breakers_by_package"]
