"""The rolling upgrade's rules (operations/upgrade.py): which node may be upgraded, and when.

The upgrade itself runs on the lab in scripts/upgrade (bench/upgrade.py), too long for CI."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from pydantic import ValidationError

from facts.drbd import DrbdResourceState
from operations.upgrade import upgrade_problems
from operations.util import operation_script
from tests.helpers import drbd_resource, real_storage_config, real_views
from tests.test_validation import messages
from twinstore.validation import validate


def healthy() -> dict[str, DrbdResourceState]:
    return {"drbd0": drbd_resource("drbd0", 0), "drbd1": drbd_resource("drbd1", 1)}


def problems(
    running: int = 12,
    local: dict[str, DrbdResourceState] | None = None,
    peer: dict[str, DrbdResourceState] | None = None,
    peer_targeted: bool = False,
    no_peer: bool = False,
) -> str:
    config = real_storage_config(upgrade_to="trixie")
    found = upgrade_problems(
        config,
        "fiori",
        running,
        healthy() if local is None else local,
        None if no_peer else healthy() if peer is None else peer,
        peer_targeted,
        "--data",
    )
    return "\n".join(f"{p.source}: {p.field} = {p.value!r}: {p.rule}" for p in found)


def test_a_healthy_pair_with_only_this_node_in_the_run_may_be_upgraded() -> None:
    assert problems() == ""


def test_a_node_on_the_release_already_has_nothing_to_refuse() -> None:
    assert problems(running=13, peer_targeted=True, no_peer=True) == ""


def test_both_nodes_in_one_run_are_refused_naming_the_limit_to_use() -> None:
    found = problems(peer_targeted=True)
    assert "--data: upgrade_to = 'trixie': upgrades one node while its peer serves" in found
    assert "run it with --limit fiori, then with --limit torchio" in found


def test_an_unreachable_peer_is_refused() -> None:
    assert "torchio cannot be reached: it must serve the pair while fiori is upgraded" in problems(no_peer=True)


@pytest.mark.parametrize(
    "change",
    [
        {"connection": "SyncSource", "peer_disk": "Inconsistent"},
        {"connection": "WFConnection", "peer_role": "Unknown", "peer_disk": "DUnknown"},
        {"out_of_sync_kib": 4},
        {"role": "Secondary"},
    ],
)
def test_a_resource_not_healthy_or_out_of_sync_on_either_node_is_refused(change: dict[str, object]) -> None:
    unhealthy = {**healthy(), "drbd1": drbd_resource("drbd1", 1, **change)}
    for found in (problems(local=unhealthy), problems(peer=unhealthy)):
        assert "torchio carries the pair alone during the upgrade" in found
        assert "drbd1 on" in found and "drbd0 on" not in found


def test_only_the_release_before_the_target_is_upgraded() -> None:
    assert "the upgrade to trixie is from Debian 12, one release at a time" in problems(running=11)


def test_upgrade_to_names_a_release_twinstore_runs_on() -> None:
    with pytest.raises(ValidationError, match="upgrade_to"):
        real_storage_config(upgrade_to="forky")
    with pytest.raises(ValidationError, match="upgrade_to"):
        real_storage_config(upgrade_to="trixie; reboot")


def test_upgrade_to_is_refused_in_a_file_and_beside_another_one_run_switch() -> None:
    views = real_views()
    for view in views:
        if view.name in ("fiori", "torchio"):
            view.data["upgrade_to"] = "trixie"
    found = messages(validate(views))
    assert (
        "upgrade_to = 'trixie': only for one run, on the command line (--limit NODE --data upgrade_to=RELEASE)" in found
    )
    for view in views:
        if view.name in ("fiori", "torchio"):
            view.sources["upgrade_to"] = "--data"
    assert "upgrade_to" not in messages(validate(views))
    for view in views:
        if view.name in ("fiori", "torchio"):
            view.data["promote_alone"] = "torchio"
            view.sources["promote_alone"] = "--data"
    assert "an upgrade and promote_alone are separate decisions" in messages(validate(views))


def run_upgrade_script(tmp_path: Path, apt_fails_at: str | None, fence_agents_installed: bool) -> tuple[int, str]:
    """operations/scripts/upgrade_packages.sh with stand-ins for apt-get and dpkg-query that log their calls."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "calls"
    (bin_dir / "apt-get").write_text(
        f'#!/bin/sh\necho "apt-get $*" >> {log}\n'
        + (f'case "$*" in *{apt_fails_at}*) exit 100 ;; esac\n' if apt_fails_at else "")
        + "exit 0\n"
    )
    status = "install ok installed" if fence_agents_installed else "unknown ok not-installed"
    (bin_dir / "dpkg-query").write_text(f"#!/bin/sh\necho '{status}'\n")
    for stand_in in bin_dir.iterdir():
        stand_in.chmod(0o755)
    policy = tmp_path / "policy-rc.d"
    command = operation_script("upgrade_packages", "trixie", "fence-agents-redfish", policy=str(policy))
    result = subprocess.run(
        ["sh", "-c", command.get_raw_value()],
        env={"PATH": f"{bin_dir}:/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert not policy.exists(), "the policy that keeps services from starting outlives the upgrade"
    return result.returncode, log.read_text() if log.exists() else ""


def test_a_failed_apt_run_stops_the_upgrade_before_the_reboot(tmp_path: Path) -> None:
    returncode, calls = run_upgrade_script(tmp_path, apt_fails_at="full-upgrade", fence_agents_installed=False)
    assert returncode == 100
    assert "full-upgrade" in calls.splitlines()[-1]


def test_the_fence_agents_metapackage_is_replaced_by_the_pairs_agents_before_the_full_upgrade(
    tmp_path: Path,
) -> None:
    _, calls = run_upgrade_script(tmp_path, apt_fails_at="full-upgrade", fence_agents_installed=True)
    commands = [line.split("--force-confold ", 1)[1] for line in calls.splitlines()]
    assert commands == ["upgrade --without-new-pkgs", "install fence-agents-redfish fence-agents-", "full-upgrade"]
