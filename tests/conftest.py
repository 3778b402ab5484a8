"""The order of the suite, and its two labs.

`bash scripts/test` runs the suite in two pytest-xdist workers (`-n 2`), each
with a lab of its own, because most of a fault scenario's time is spent waiting on the
protocols' timeouts (DRBD's ping, o2cb's dead time, a node's boot), not on the host's CPU:

- the first lab's group: the first converge of fresh guests, the tests of the converged lab, the
  scenarios that replace guests, and `lab down`;
- the second lab's group: the unit tests, then the scenarios that start from the converged
  snapshot, on a second lab that starts as a copy of the first one right after its converge
  (`python -m lab snapshot import`; tests/e2e/conftest.py).

Without xdist (`python -m pytest tests/e2e/test_faults.py`) everything runs in one lab, in the
same order.
"""

from __future__ import annotations

import os

import pytest

from lab.settings import lab_dir, ssh_port_base

FIRST_LAB = "first-lab"
SECOND_LAB = "second-lab"
# A second lab's guests answer SSH this many ports above the first lab's (each lab uses at most five).
SECOND_LAB_PORT_OFFSET = 10


def _second_lab_environment() -> None:
    """A worker other than the first runs its lab in a directory of its own, on ports of its own,
    sharing the first lab's image, SSH key and secrets. lab.settings reads the environment at
    each call; what is set here is inherited by every `python -m lab` and pyinfra run of the worker."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    if worker == "gw0" or "TWINSTORE_LAB_SHARED" in os.environ:
        return
    index = int(worker.removeprefix("gw"))
    home = lab_dir()
    base = ssh_port_base()
    os.environ["TWINSTORE_LAB_SHARED"] = str(home)
    os.environ["TWINSTORE_LAB_DIR"] = f"{home}-{worker}"
    os.environ["TWINSTORE_LAB_SSH_PORT"] = str(base + SECOND_LAB_PORT_OFFSET * index)


_second_lab_environment()


def phase(item: pytest.Item) -> int:
    """Tests of the converged lab first; then scenarios that start from the converged snapshot;
    then those that replace guests (their disks lose the snapshot); then `lab down`."""
    if item.get_closest_marker("lab_down"):
        return 3
    if item.get_closest_marker("lab_rebuild"):
        return 2
    return 1 if item.get_closest_marker("lab_scenario") else 0


# The second lab's scenarios: each starts from the converged snapshot (marked lab_scenario).
SECOND_LAB_MODULES = ("tests/e2e/test_faults.py",)


def lab_group(nodeid: str) -> str:
    """Which lab's worker runs a test: by its node id, the one thing xdist's controller knows of it."""
    path = nodeid.split("::", 1)[0]
    return SECOND_LAB if not path.startswith("tests/e2e/") or path in SECOND_LAB_MODULES else FIRST_LAB


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    items.sort(key=phase)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: object) -> object:
    """Each lab's tests to one worker, whole and in the suite's order (xdist's loadgroup does not
    group under pytest 9, which ignores the node ids xdist rewrites)."""
    from xdist.scheduler import LoadScopeScheduling

    class LabScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return lab_group(nodeid)

    return LabScheduling(config, log)


# The test whose fixtures are being set up (tests/e2e/conftest.py asks which lab it is in).
CURRENT: list[pytest.Item] = []


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    CURRENT[:] = [item]
