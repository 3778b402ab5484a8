"""Units enabled without the manager reload that `systemctl enable` does by itself."""

from __future__ import annotations

import pytest
from pyinfra.context import ctx_host
from pyinfra.facts.systemd import SystemdEnabled, SystemdStatus

from operations.util import unit_state
from tests.helpers import FakeHost

UNIT = "nftables.service"


def commands_for(running: bool | None, enabled: bool | None, is_running: bool, is_enabled: bool) -> tuple:
    host = FakeHost({SystemdStatus: {UNIT: is_running}, SystemdEnabled: {UNIT: is_enabled}})
    with ctx_host.use(host):
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
