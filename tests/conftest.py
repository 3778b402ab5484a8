"""The order of the suite, and its labs.

`bash scripts/test` runs the suite in pytest-xdist workers, each with a lab of its own, because
most of a fault scenario's time is spent waiting on the protocols' timeouts (DRBD's ping, o2cb's
dead time, a node's boot), not on the host's CPU:

- the first lab (worker gw0): the first converge of fresh guests, the tests of the converged
  lab, and `lab down`;
- the other labs: the unit tests and the scenarios in LAB_OF_SCENARIOS, each lab starting as a
  copy of the first one right after its converge (`python -m lab snapshot import`;
  tests/e2e/conftest.py).

`bash scripts/test` runs three workers (`-n 3`): since the guests run without ASLR (lab/machines.py)
two labs left the host's two cores 39 % idle; before, a third lab had made it CPU-bound
(docs/measurements.md, fourteenth and twenty-second sessions).

Without xdist (`python -m pytest tests/e2e/test_faults.py`) everything runs in one lab, in the
same order.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import pytest

from lab.settings import lab_dir, ssh_port_base

if TYPE_CHECKING:
    from xdist.workermanage import WorkerController

FIRST_LAB = "first-lab"
SECOND_LAB = "second-lab"
THIRD_LAB = "third-lab"
# Another lab's guests answer SSH this many ports above the previous lab's (each lab uses at most five).
LAB_PORT_OFFSET = 10
FIRST_WORKER = "gw0"


def _copied_lab_environment() -> None:
    """A worker other than the first runs its lab in a directory of its own, on ports of its own,
    sharing the first lab's image, SSH key and secrets. lab.settings reads the environment at
    each call; what is set here is inherited by every `python -m lab` and pyinfra run of the worker."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", FIRST_WORKER)
    if worker == FIRST_WORKER or "TWINSTORE_LAB_SHARED" in os.environ:
        return
    index = int(worker.removeprefix("gw"))
    home = lab_dir()
    base = ssh_port_base()
    os.environ["TWINSTORE_LAB_SHARED"] = str(home)
    os.environ["TWINSTORE_LAB_DIR"] = f"{home}-{worker}"
    os.environ["TWINSTORE_LAB_SSH_PORT"] = str(base + LAB_PORT_OFFSET * index)


_copied_lab_environment()


def phase(item: pytest.Item) -> int:
    """Tests of the converged lab first; then scenarios that start from the converged snapshot;
    then those that replace guests (their disks lose the snapshot); then `lab down`; then the
    tests on a lab of the other Debian release, which start once their worker's lab is stopped."""
    if item.get_closest_marker("other_release"):
        return 4
    if item.get_closest_marker("lab_down"):
        return 3
    if item.get_closest_marker("lab_rebuild"):
        return 2
    return 1 if item.get_closest_marker("lab_scenario") else 0


# The scenarios that do not run in the first lab, by node id prefix (a module, or one test),
# first match wins; balanced by their durations (bench/results/suite-*.json, "slowest").
# Each lab waits about three minutes for the first one's converge before it starts.
LAB_OF_SCENARIOS: tuple[tuple[str, str], ...] = (
    ("tests/e2e/test_faults.py::test_a_pulled_cable_fences_one_node", SECOND_LAB),
    ("tests/e2e/test_faults.py::test_a_fence_agent_that_cannot_reach_the_bmc", SECOND_LAB),
    ("tests/e2e/test_verify.py", SECOND_LAB),
    # Its own lab, of the other release, after the second lab's scenarios.
    ("tests/e2e/test_release.py", SECOND_LAB),
    # The three that share one power cut of both nodes, and the back-to-back cable pulled.
    ("tests/e2e/test_faults.py", THIRD_LAB),
    # After them: it replaces a guest, whose disks lose the lab's snapshots.
    ("tests/e2e/test_drbd_legs.py", THIRD_LAB),
)


def lab_group(nodeid: str) -> str:
    """Which lab's worker runs a test: by its node id, the one thing xdist's controller knows of it.
    The unit tests go to the second lab, whose scenarios start only after the first converge."""
    if not nodeid.startswith("tests/e2e/"):
        return SECOND_LAB
    return next((lab for prefix, lab in LAB_OF_SCENARIOS if nodeid.startswith(prefix)), FIRST_LAB)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    items.sort(key=phase)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: object) -> object:
    """Each lab's tests to one worker, whole and in the suite's order (xdist's loadgroup does not
    group under pytest 9, which ignores the node ids xdist rewrites). The first lab's tests go to
    the first worker, alone, as its lab is the one the others copy; the other labs' tests to the
    other workers, several to one when there are fewer workers than labs."""
    from xdist.scheduler import LoadScopeScheduling

    class LabScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return lab_group(nodeid)

        def _fits(self, scope: str, node: WorkerController) -> bool:
            scopes = {lab_group(nodeid) for nodeid in self.collection or ()}
            if len(self.nodes) == 1 or FIRST_LAB not in scopes:
                return True
            return (scope == FIRST_LAB) == (node.gateway.id == FIRST_WORKER)

        def _assign_work_unit(self, node: WorkerController) -> None:
            scope = next((scope for scope in self.workqueue if self._fits(scope, node)), None)
            if scope is None:
                return
            # The parent assigns the queue's first unit: put this one first.
            self.workqueue.move_to_end(scope, last=False)
            super()._assign_work_unit(node)

        def _reschedule(self, node: WorkerController) -> None:
            # A worker left with no lab it may run stops (the parent stops one only when no work is left).
            if not node.shutting_down and not any(self._fits(scope, node) for scope in self.workqueue):
                node.shutdown()
                return
            super()._reschedule(node)

    return LabScheduling(config, log)
