"""Which lab runs which test (tests/conftest.py), and how xdist's workers get them."""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from tests.conftest import FIRST_LAB, LAB_OF_SCENARIOS, SECOND_LAB, THIRD_LAB, lab_group, pytest_xdist_make_scheduler

ROOT = Path(__file__).resolve().parent.parent


def test_unit_tests_and_the_fault_scenarios_go_to_the_other_labs() -> None:
    assert lab_group("tests/test_validation.py::test_the_cli_stops_before_connecting") == SECOND_LAB
    assert lab_group("tests/e2e/test_ocfs2.py::test_public_links_exactly_as_the_procedure_lists_them") == FIRST_LAB
    assert lab_group("tests/e2e/test_faults.py::test_a_pulled_cable_fences_one_node_and_a_stale_node") == SECOND_LAB
    assert lab_group("tests/e2e/test_verify.py::test_the_timer_verifies_a_corrupted_block") == SECOND_LAB
    # The three scenarios that share one power cut of both nodes stay together.
    for shared_cut in (
        "test_both_nodes_lose_power_at_once_and_torchio_comes_back_first",
        "test_both_nodes_lose_power_at_once_and_fiori_comes_back_first",
        "test_a_peer_gone_for_good_is_replaced_only_by_an_explicit_promotion",
    ):
        assert lab_group(f"tests/e2e/test_faults.py::{shared_cut}") == THIRD_LAB
    assert lab_group("tests/e2e/test_drbd_legs.py::test_one_legged_start") == THIRD_LAB


def test_every_prefix_names_a_module_or_test_that_exists() -> None:
    """A renamed scenario would fall back to the second lab unnoticed, and unbalance the labs."""
    for prefix, _ in LAB_OF_SCENARIOS:
        path, _, test = prefix.partition("::")
        module = ROOT / path
        assert module.is_file(), prefix
        if test:
            tests = [node.name for node in ast.walk(ast.parse(module.read_text())) if isinstance(node, ast.FunctionDef)]
            assert [name for name in tests if name.startswith(test)], prefix


@dataclass(eq=False)
class Worker:
    """What xdist's scheduler uses of a worker."""

    name: str
    gateway: SimpleNamespace = field(init=False)
    sent: list[int] = field(default_factory=list)
    shutting_down: bool = False

    def __post_init__(self) -> None:
        self.gateway = SimpleNamespace(id=self.name)

    def send_runtest_some(self, indexes: list[int]) -> None:
        self.sent += indexes

    def shutdown(self) -> None:
        self.shutting_down = True


COLLECTION = [
    "tests/test_validation.py::test_a",
    "tests/e2e/test_lab.py::test_facts",
    "tests/e2e/test_faults.py::test_a_pulled_cable",
    "tests/e2e/test_faults.py::test_a_fence_agent_that_cannot_reach_the_bmc_leaves_io_frozen",
    "tests/e2e/test_faults.py::test_both_nodes_lose_power_at_once_and_fiori_comes_back_first",
    "tests/e2e/test_drbd_legs.py::test_one_legged_start",
    "tests/e2e/test_lab.py::test_lab_down",
]


def run_scheduler(workers: int, collection: list[str] = COLLECTION) -> dict[str, set[str]]:
    """Which lab groups each worker is sent, all tests completed as they come."""
    config: Any = SimpleNamespace(
        getvalue=lambda name: [f"{workers}*popen"], option=SimpleNamespace(loadscopereorder=False)
    )
    scheduler: Any = pytest_xdist_make_scheduler(config, SimpleNamespace(loadscopesched=lambda *args: None))
    nodes = [Worker(f"gw{index}") for index in range(workers)]
    for node in nodes:
        scheduler.add_node(node)
    for node in nodes:
        scheduler.add_node_collection(node, collection)
    scheduler.schedule()
    done: dict[Worker, int] = {node: 0 for node in nodes}
    while any(done[node] < len(node.sent) for node in nodes):
        for node in nodes:
            while done[node] < len(node.sent):
                scheduler.mark_test_complete(node, node.sent[done[node]])
                done[node] += 1
    assert scheduler.tests_finished
    assert all(node.shutting_down for node in nodes)
    return {node.name: {lab_group(collection[index]) for index in node.sent} for node in nodes}


def test_three_workers_run_three_labs_one_each() -> None:
    assert run_scheduler(3) == {"gw0": {FIRST_LAB}, "gw1": {SECOND_LAB}, "gw2": {THIRD_LAB}}


def test_with_fewer_workers_than_labs_the_first_lab_stays_alone_and_the_others_share() -> None:
    assert run_scheduler(2) == {"gw0": {FIRST_LAB}, "gw1": {SECOND_LAB, THIRD_LAB}}


def test_without_the_first_labs_tests_any_worker_runs_any_lab() -> None:
    scenarios = [nodeid for nodeid in COLLECTION if lab_group(nodeid) != FIRST_LAB]
    sent = run_scheduler(2, scenarios)
    assert sent["gw0"] | sent["gw1"] == {SECOND_LAB, THIRD_LAB}
    assert not sent["gw0"] & sent["gw1"]
