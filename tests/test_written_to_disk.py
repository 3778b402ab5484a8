"""The run's last operation: sync only when the run changes something on the host."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from pyinfra.context import ctx_host, ctx_state

from operations.util import written_to_disk
from tests.helpers import FakeHost


def planned(*ops: tuple[bool | None, Any]) -> list[str]:
    host = FakeHost({})
    state = SimpleNamespace(
        is_executing=False,
        ops={
            host: {
                f"op{i}": SimpleNamespace(
                    operation_meta=SimpleNamespace(_maybe_is_change=change), global_arguments={"_if": condition}
                )
                for i, (change, condition) in enumerate(ops)
            }
        },
    )
    with ctx_host.use(host), ctx_state.use(state):
        return [command.get_raw_value() for command in written_to_disk._inner()]


def test_a_planned_change_is_flushed() -> None:
    assert planned((False, []), (True, [])) == ["sync"]


@pytest.mark.parametrize("ops", [[], [(False, [])], [(None, [])], [(True, [lambda: True])]])
def test_nothing_or_only_conditional_changes_plan_no_flush(ops: list[tuple[bool | None, Any]]) -> None:
    # A converged lab's --dry lists restarts that run only _if a file changed as "Conditional
    # Change"; the flush must not make it plan a change.
    assert planned(*ops) == []
