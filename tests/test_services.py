"""Units enabled without the manager reload that `systemctl enable` does by itself."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from pyinfra.context import ctx_host, ctx_state
from pyinfra.facts.systemd import SystemdEnabled, SystemdStatus

from operations import util
from operations.util import unit_state
from tests.helpers import FakeHost

UNIT = "nftables.service"


def commands_for(running: bool | None, enabled: bool | None, is_running: bool, is_enabled: bool) -> tuple:
    host = FakeHost({SystemdStatus: {UNIT: is_running}, SystemdEnabled: {UNIT: is_enabled}})
    with ctx_host.use(host), ctx_state.use(SimpleNamespace(is_executing=False)):
        commands = [c.get_raw_value() for c in unit_state._inner(service=UNIT, running=running, enabled=enabled)]
    return commands, host


def test_a_unit_is_started_then_enabled_without_a_reload() -> None:
    commands, _ = commands_for(True, True, is_running=False, is_enabled=False)
    assert commands == [f"systemctl start {UNIT}", f"systemctl enable --no-reload {UNIT}"]


def test_a_unit_is_disabled_without_a_reload_and_left_as_it_runs() -> None:
    commands, _ = commands_for(None, False, is_running=True, is_enabled=True)
    assert commands == [f"systemctl disable --no-reload {UNIT}"]


@pytest.mark.parametrize("enabled", [True, False])
def test_a_unit_in_the_wanted_state_changes_nothing(enabled: bool) -> None:
    commands, host = commands_for(True, enabled, is_running=True, is_enabled=enabled)
    assert commands == []
    assert host.noops == [f"service {UNIT} is running", f"{UNIT} is {'enabled' if enabled else 'disabled'}"]


def test_enabled_left_out_only_manages_the_running_state() -> None:
    commands, host = commands_for(True, None, is_running=False, is_enabled=False)
    assert commands == [f"systemctl start {UNIT}"]
    assert host.noops == []


@pytest.mark.parametrize(("executing", "recorded"), [(True, True), (False, False)])
def test_an_executed_enable_is_what_makes_the_run_reload_systemd(executing: bool, recorded: bool) -> None:
    host = FakeHost({SystemdStatus: {UNIT: True}, SystemdEnabled: {UNIT: False}}, name="torchio")
    util._ENABLEMENT_CHANGED.discard("torchio")
    with ctx_host.use(host), ctx_state.use(SimpleNamespace(is_executing=executing)):
        list(unit_state._inner(service=UNIT, running=True, enabled=True))
    assert ("torchio" in util._ENABLEMENT_CHANGED) is recorded


def test_a_start_alone_does_not_make_the_run_reload_systemd() -> None:
    host = FakeHost({SystemdStatus: {UNIT: False}, SystemdEnabled: {UNIT: True}}, name="torchio")
    util._ENABLEMENT_CHANGED.discard("torchio")
    with ctx_host.use(host), ctx_state.use(SimpleNamespace(is_executing=True)):
        assert [c.get_raw_value() for c in unit_state._inner(service=UNIT, running=True, enabled=True)] == [
            f"systemctl start {UNIT}"
        ]
    assert "torchio" not in util._ENABLEMENT_CHANGED
