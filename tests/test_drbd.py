"""The DRBD fact on every 8.4 state, and the plan each pair of states leads to."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from facts.drbd import DrbdResources, DrbdResourceState
from operations.drbd import (
    ResourcePlan,
    discard_commands,
    metadata,
    plan_resource,
    promote_command,
    resource_commands,
)
from tests.helpers import real_storage_config, render_template

FIXTURES = Path(__file__).parent / "fixtures"
TEMPLATES = Path(__file__).parent.parent / "templates" / "drbd"


def states(fixture: str) -> dict[str, DrbdResourceState]:
    return DrbdResources().process((FIXTURES / fixture).read_text().splitlines())


def blank(name: str = "drbd0") -> DrbdResourceState:
    return states("drbd-no-module.txt")[name]


def test_connected_primary_primary() -> None:
    drbd0 = states("drbd-connected-primary-primary.txt")["drbd0"]
    assert drbd0.configured and drbd0.attached and drbd0.has_metadata and drbd0.healthy
    assert (drbd0.connection, drbd0.role, drbd0.peer_role, drbd0.disk, drbd0.peer_disk) == (
        "Connected", "Primary", "Primary", "UpToDate", "UpToDate",
    )  # fmt: skip
    assert drbd0.out_of_sync_kib == 0
    assert not drbd0.split_brain_reported


def test_wfconnection_one_leg() -> None:
    drbd1 = states("drbd-wfconnection-one-leg.txt")["drbd1"]
    assert (drbd1.connection, drbd1.role, drbd1.peer_role, drbd1.disk, drbd1.peer_disk) == (
        "WFConnection", "Primary", "Unknown", "UpToDate", "DUnknown",
    )  # fmt: skip
    assert drbd1.out_of_sync_kib == 2097052
    assert not drbd1.healthy


def test_sync_target_and_source_with_progress() -> None:
    target = states("drbd-synctarget.txt")["drbd1"]
    assert (target.connection, target.role, target.disk, target.peer_disk) == (
        "SyncTarget",
        "Secondary",
        "Inconsistent",
        "UpToDate",
    )
    assert target.sync_percent == 18.6
    assert target.out_of_sync_kib == 1707932
    source = states("drbd-syncsource.txt")["drbd0"]
    assert (source.connection, source.disk, source.peer_disk, source.sync_percent) == (
        "SyncSource",
        "UpToDate",
        "Inconsistent",
        37.2,
    )


def test_standalone_after_split_brain() -> None:
    found = states("drbd-standalone-split-brain.txt")
    assert found["drbd0"].connection == "StandAlone"
    assert found["drbd0"].split_brain_reported
    assert not found["drbd1"].split_brain_reported


def test_inconsistent_before_the_new_current_uuid() -> None:
    drbd0 = states("drbd-inconsistent-connected.txt")["drbd0"]
    assert (drbd0.disk, drbd0.peer_disk, drbd0.role) == ("Inconsistent", "Inconsistent", "Secondary")


def test_diskless_and_unconfigured() -> None:
    found = states("drbd-diskless-and-unconfigured.txt")
    assert found["drbd0"].configured and not found["drbd0"].attached
    assert found["drbd0"].disk == "Diskless"
    assert not found["drbd1"].configured
    assert found["drbd1"].has_metadata
    assert not found["drbd1"].never_used
    assert found["drbd1"].generation is not None


def test_no_module_blank_and_missing_devices() -> None:
    found = states("drbd-no-module.txt")
    assert not found["drbd0"].module_loaded
    assert found["drbd0"].backing_blank and not found["drbd0"].has_metadata
    assert not found["drbd1"].backing_exists


def test_real_just_created_metadata_is_never_used() -> None:
    generation = ":".join(["0000000000000004", *["0" * 16] * 3, *["0"] * 7])
    created = DrbdResourceState(
        name="drbd0", minor=0, module_loaded=True, backing_exists=True, backing_signature="drbd",
        backing_blkid_status=0, generation=generation,
    )  # fmt: skip
    assert created.has_metadata and created.never_used


def plan(
    local: DrbdResourceState,
    peer: DrbdResourceState | None,
    host: str = "fiori",
    targeted: bool = True,
    first_leg: str | None = None,
    discard: str | None = None,
) -> ResourcePlan:
    peer_name = "torchio" if host == "fiori" else "fiori"
    return plan_resource(local.name, host, "fiori", peer_name, local, peer, targeted, first_leg, "--data", discard)


def split_pair() -> tuple[DrbdResourceState, DrbdResourceState]:
    split = states("drbd-standalone-split-brain.txt")["drbd0"]
    return split, split


def test_new_pair_clears_the_bitmap_on_the_first_node_only() -> None:
    first = plan(blank(), blank())
    second = plan(blank(), blank(), host="torchio")
    assert (first.create_metadata, first.bring_up, first.wait_connected, first.clear_bitmap, first.promote) == (
        True,
        True,
        True,
        True,
        True,
    )
    assert (second.create_metadata, second.clear_bitmap, second.promote) == (True, False, True)
    assert not first.force_primary and not first.problems
    # Both halves written with zeros first: no sync makes them the same otherwise.
    assert first.zero_backing and second.zero_backing


def test_new_pair_resumes_after_an_interrupted_creation() -> None:
    halfway = states("drbd-inconsistent-connected.txt")["drbd0"]
    resumed = plan(halfway, halfway)
    assert not resumed.create_metadata and not resumed.bring_up and not resumed.zero_backing
    assert resumed.clear_bitmap and resumed.promote


def test_both_new_but_peer_left_out_by_limit_is_refused() -> None:
    refused = plan(blank(), blank(), targeted=False)
    assert refused.problems and "both nodes are new" in refused.problems[0].rule
    assert "--data first_leg=fiori" in refused.problems[0].rule
    assert not refused.create_metadata


def test_unreachable_peer_without_a_named_first_leg_is_refused() -> None:
    refused = plan(blank(), None, targeted=False)
    assert "torchio cannot be reached" in refused.problems[0].rule
    assert refused.problems[0].field == "first_leg"


def test_one_legged_start_only_on_the_named_node() -> None:
    started = plan(blank(), None, targeted=False, first_leg="fiori")
    assert started.create_metadata and started.bring_up and started.force_primary and not started.problems
    # Not zeroed: the second leg gets the whole device by the full sync.
    assert not started.zero_backing
    other = plan(blank(), None, host="torchio", targeted=False, first_leg="fiori")
    assert other.problems and not other.force_primary


def test_one_legged_start_refused_when_the_peer_has_data() -> None:
    peer = states("drbd-wfconnection-one-leg.txt")["drbd0"]
    refused = plan(
        blank(), DrbdResourceState(**{**peer.__dict__, "connection": "StandAlone"}), host="torchio", first_leg="torchio"
    )
    assert refused.problems and not refused.force_primary


def test_second_leg_joins_an_up_to_date_peer() -> None:
    peer = states("drbd-wfconnection-one-leg.txt")["drbd0"]
    joining = plan(blank(), peer, host="torchio", targeted=True)
    assert joining.create_metadata and joining.bring_up
    assert not joining.zero_backing, "the full sync writes the joining node's whole device"
    assert not joining.force_primary and not joining.clear_bitmap and not joining.promote
    assert joining.note and "full sync" in joining.note


def test_rerun_during_the_sync_changes_nothing_and_reports_progress() -> None:
    syncing = states("drbd-synctarget.txt")["drbd1"]
    source = states("drbd-syncsource.txt")["drbd1"]
    waiting = plan(syncing, source, host="torchio")
    assert not any((waiting.create_metadata, waiting.bring_up, waiting.promote, waiting.force_primary))
    assert waiting.note and "18.6% synced" in waiting.note


def test_up_to_date_secondary_is_promoted() -> None:
    synced = DrbdResourceState(
        **{
            **states("drbd-synctarget.txt")["drbd0"].__dict__,
            "connection": "Connected",
            "disk": "UpToDate",
            "sync_percent": None,
        }
    )
    assert plan(synced, states("drbd-connected-primary-primary.txt")["drbd0"], host="torchio").promote


def test_healthy_pair_does_nothing() -> None:
    healthy = states("drbd-connected-primary-primary.txt")["drbd0"]
    result = plan(healthy, healthy)
    assert not any((result.create_metadata, result.bring_up, result.promote, result.clear_bitmap, result.force_primary))
    assert result.note is None and not result.problems


@pytest.mark.parametrize("signature", ["ext4", "ocfs2", "xfs"])
def test_create_md_over_a_filesystem_is_refused(signature: str) -> None:
    formatted = DrbdResourceState(
        name="drbd0",
        minor=0,
        module_loaded=True,
        backing_exists=True,
        backing_signature=signature,
        backing_blkid_status=0,
    )
    refused = plan(formatted, blank())
    assert refused.problems and f"the backing volume holds {signature}" in refused.problems[0].rule
    assert not refused.create_metadata


def test_standalone_is_refused_with_both_nodes_states() -> None:
    split = states("drbd-standalone-split-brain.txt")["drbd0"]
    refused = plan(split, split)
    problem = refused.problems[0]
    assert "StandAlone and the kernel reported a split brain" in problem.rule
    assert "never discards data" in problem.rule
    assert "--data split_brain_discard=NODE" in problem.rule and problem.field == "split_brain_discard"
    assert "fiori: StandAlone Primary/Unknown" in problem.value and "torchio: StandAlone" in problem.value


def test_mounted_drbd_devices_are_read_from_proc_mounts() -> None:
    found = states("drbd-standalone-split-brain.txt")
    assert found["drbd1"].mount_point == "/vol/ocfs2-large"
    assert found["drbd0"].mount_point is None


def test_split_brain_discard_plans_the_named_node_as_sync_target_and_reconnects_the_other() -> None:
    fiori, torchio = split_pair()
    victim = plan(torchio, fiori, host="torchio", discard="torchio")
    keeper = plan(fiori, torchio, host="fiori", discard="torchio")
    assert not victim.problems and not keeper.problems
    assert victim.discard_my_data and not victim.reconnect and not victim.promote
    assert keeper.reconnect and not keeper.discard_my_data
    assert victim.note is not None and "resyncs from fiori" in victim.note


def test_split_brain_discard_waiting_side_is_disconnected_first_not_refused() -> None:
    standalone, _ = split_pair()
    waiting = DrbdResourceState(**{**standalone.__dict__, "connection": "WFConnection"})
    assert plan(waiting, standalone, host="torchio").problems, "a peer that is StandAlone is a split without a name"
    victim = plan(waiting, standalone, host="torchio", discard="torchio")
    assert victim.discard_my_data and not victim.problems
    keeper = plan(waiting, standalone, host="fiori", discard="torchio")
    assert not keeper.reconnect and not keeper.problems, "a waiting keeper needs no connect"


def test_split_brain_discard_needs_both_nodes_in_the_run() -> None:
    fiori, torchio = split_pair()
    refused = plan(torchio, fiori, host="torchio", targeted=False, discard="torchio")
    assert refused.problems and "must be in this run" in refused.problems[0].rule
    assert not refused.discard_my_data
    assert "must be in this run" in plan(torchio, None, host="torchio", discard="torchio").problems[0].rule


def test_split_brain_discard_refused_when_the_kept_copy_is_not_up_to_date() -> None:
    fiori, torchio = split_pair()
    outdated = DrbdResourceState(**{**fiori.__dict__, "disk": "Outdated"})
    refused = plan(torchio, outdated, host="torchio", discard="torchio")
    assert refused.problems and "would leave no good copy" in refused.problems[0].rule
    assert not refused.discard_my_data
    assert plan(outdated, torchio, host="fiori", discard="torchio").problems


def test_split_brain_discard_refused_while_the_discarded_device_is_mounted() -> None:
    mounted = states("drbd-standalone-split-brain.txt")["drbd1"]
    mounted = DrbdResourceState(**{**mounted.__dict__, "connection": "StandAlone", "peer_role": "Unknown"})
    refused = plan(mounted, mounted, host="torchio", discard="torchio")
    assert refused.problems and "mounted on /vol/ocfs2-large on torchio" in refused.problems[0].rule
    assert not refused.discard_my_data
    # The kept side may stay mounted: it keeps serving.
    assert plan(mounted, mounted, host="fiori", discard="torchio").reconnect


def test_split_brain_discard_changes_nothing_on_a_connected_resource() -> None:
    healthy = states("drbd-connected-primary-primary.txt")["drbd0"]
    unchanged = plan(healthy, healthy, host="torchio", discard="torchio")
    assert unchanged == plan(healthy, healthy, host="torchio")
    assert not unchanged.discard_my_data


def test_diskless_is_refused() -> None:
    diskless = states("drbd-diskless-and-unconfigured.txt")["drbd0"]
    assert "without its backing disk" in plan(diskless, blank()).problems[0].rule


def test_used_metadata_on_a_down_resource_is_brought_up_not_recreated() -> None:
    down = states("drbd-diskless-and-unconfigured.txt")["drbd1"]
    # It went down while connected (get-gi: consistent, was up to date, connected, peer not
    # outdated): it attaches Consistent, and is promoted only with its peer there.
    assert down.disk_at_attach == "Consistent"
    alone = plan(down, None, targeted=False)
    assert alone.bring_up and not alone.promote and not alone.create_metadata and not alone.problems
    assert alone.note is not None and "waits for torchio" in alone.note
    assert "--data promote_alone=fiori" in alone.note
    with_peer = plan(down, states("drbd-wfconnection-one-leg.txt")["drbd1"])
    assert with_peer.bring_up and with_peer.promote and not with_peer.create_metadata
    assert down.generation is not None
    survivor = DrbdResourceState(**{**down.__dict__, "generation": down.generation[:-13] + "1:1:1:0:0:1:0"})
    assert survivor.disk_at_attach == "UpToDate"
    assert plan(survivor, None, targeted=False).promote


def test_wiped_but_not_zeroed_backing_volume_is_refused() -> None:
    # wipefs removes the signature but leaves the filesystem's other blocks; drbdmeta would
    # stop at them, so the plan refuses first and says how to clear them.
    found = states("drbd-wiped-not-zero.txt")
    wiped, zeroed = found["drbd0"], found["drbd1"]
    assert wiped.backing_signature is None and not wiped.backing_blank
    assert zeroed.backing_blank
    refused = plan(wiped, zeroed)
    assert not refused.create_metadata
    rule = refused.problems[0].rule
    assert "no signature blkid knows, but its first 68 KiB are not zero" in rule
    assert "dd if=/dev/zero of=/dev/mapper/vg0-rep--drbd0 bs=1K count=68" in rule


def run_promotion(tmp_path: Path, refusals: int) -> subprocess.CompletedProcess[str]:
    """The deploy's promotion command, with a drbdadm that refuses `refusals` times first."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "drbdadm").write_text(
        f'#!/bin/sh\necho "$*" >> {tmp_path}/calls\n[ $(wc -l < {tmp_path}/calls) -gt {refusals} ] || exit 11\n'
    )
    (bin_dir / "sleep").write_text("#!/bin/sh\n")
    for stub in bin_dir.iterdir():
        stub.chmod(0o755)
    command = promote_command("drbd0").get_raw_value()
    return subprocess.run(
        ["sh", "-c", command], env={"PATH": f"{bin_dir}:/usr/bin:/bin"}, capture_output=True, text=True
    )


def test_a_promotion_refused_by_a_concurrent_one_is_tried_again(tmp_path: Path) -> None:
    assert run_promotion(tmp_path, refusals=2).returncode == 0
    assert (tmp_path / "calls").read_text().splitlines() == ["primary drbd0"] * 3


def test_a_promotion_refused_three_times_fails(tmp_path: Path) -> None:
    assert run_promotion(tmp_path, refusals=3).returncode == 11


def run_discard(tmp_path: Path, cstate: str, secondary_rc: int = 0) -> list[str]:
    """The victim's commands as pyinfra runs them (stop at the first failure) against a fake drbdadm."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "drbdadm").write_text(
        f'#!/bin/sh\necho "$*" >> {tmp_path}/calls\n'
        f'case "$1" in cstate) echo {cstate} ;; secondary) exit {secondary_rc} ;; esac\n'
    )
    (bin_dir / "drbdadm").chmod(0o755)
    for command in discard_commands("drbd1"):
        ran = subprocess.run(
            ["sh", "-c", command.get_raw_value()], env={"PATH": f"{bin_dir}:/usr/bin:/bin"}, capture_output=True
        )
        if ran.returncode != 0:
            break
    return (tmp_path / "calls").read_text().splitlines()


def test_discard_demotes_then_connects_with_discard_my_data(tmp_path: Path) -> None:
    assert run_discard(tmp_path, "StandAlone") == ["cstate drbd1", "secondary drbd1", "connect --discard-my-data drbd1"]


def test_discard_disconnects_a_waiting_resource_first(tmp_path: Path) -> None:
    assert run_discard(tmp_path, "WFConnection")[:2] == ["cstate drbd1", "disconnect drbd1"]


def test_discard_on_a_connected_resource_does_nothing(tmp_path: Path) -> None:
    assert run_discard(tmp_path, "Connected") == ["cstate drbd1"]


def test_discard_stops_when_the_device_cannot_be_demoted(tmp_path: Path) -> None:
    assert run_discard(tmp_path, "StandAlone", secondary_rc=11) == ["cstate drbd1", "secondary drbd1"]


def partial_copy() -> DrbdResourceState:
    """A joining node whose sync from its peer began and then lost the peer (the sync UUID replaced 4)."""
    target = states("drbd-synctarget.txt")["drbd1"]
    return DrbdResourceState(
        **{
            **target.__dict__,
            "connection": "WFConnection",
            "peer_role": "Unknown",
            "peer_disk": "DUnknown",
            "sync_percent": None,
            "generation": "8F3C2B1A0E9D7C65:0000000000000000:0000000000000000:0000000000000000:0:0:0:0:0:0:0",
        }
    )


def alone(disk: str, role: str = "Secondary") -> DrbdResourceState:
    """A node up without its peer, with the disk state DRBD gave its copy."""
    one_leg = states("drbd-wfconnection-one-leg.txt")["drbd0"]
    return DrbdResourceState(**{**one_leg.__dict__, "role": role, "disk": disk})


def test_a_partial_copy_alone_is_refused_and_never_offered_as_a_first_leg() -> None:
    partial = partial_copy()
    assert partial.partial_copy and not partial.never_used
    refused = plan(partial, None, host="torchio", targeted=False)
    problem = refused.problems[0]
    assert "drbd1 on torchio holds a partial copy" in problem.rule and "sync resumes" in problem.rule
    assert "first_leg" not in problem.rule and problem.field == "drbd_resources.drbd1"
    assert not (refused.force_primary or refused.promote or refused.promote_alone)


def test_a_partial_copy_named_as_first_leg_or_to_promote_alone_is_refused_by_that_name() -> None:
    partial = partial_copy()
    as_first = plan(partial, None, host="torchio", targeted=False, first_leg="torchio")
    assert as_first.problems[0].field == "first_leg" and not as_first.force_primary
    alone_too = plan_resource(
        "drbd1", "torchio", "fiori", "fiori", partial, None, False, None, "--data", None, "torchio"
    )
    assert alone_too.problems[0].field == "promote_alone" and not alone_too.promote_alone


def test_a_partial_copy_still_syncing_reports_progress() -> None:
    syncing = DrbdResourceState(**{**partial_copy().__dict__, "connection": "SyncTarget", "sync_percent": 40.0})
    waiting = plan(syncing, states("drbd-syncsource.txt")["drbd1"], host="torchio")
    assert not waiting.problems and waiting.note and "40.0% synced" in waiting.note


@pytest.mark.parametrize(
    ("disk", "why"),
    [
        ("Consistent", "torchio was in step with fiori when it went down, and fiori may have written since"),
        ("Outdated", "fiori had newer data when torchio left"),
    ],
)
def test_a_node_alone_whose_copy_may_be_older_waits_and_names_the_way_out(disk: str, why: str) -> None:
    waiting = plan(alone(disk), None, host="torchio", targeted=False)
    assert not waiting.promote and not waiting.problems and not waiting.promote_alone
    assert waiting.note is not None
    assert f"drbd0 on torchio waits for fiori, which cannot be reached: its copy is {disk} ({why})" in waiting.note
    assert "If fiori is gone for good: --data promote_alone=torchio (preview with --dry)" in waiting.note


def test_an_up_to_date_node_alone_is_promoted_drbd_knows_its_peer_outdated() -> None:
    assert plan(alone("UpToDate"), None, host="torchio", targeted=False).promote


def promote_alone(local: DrbdResourceState, peer: DrbdResourceState | None) -> ResourcePlan:
    return plan_resource("drbd0", "torchio", "fiori", "fiori", local, peer, False, None, "--data", None, "torchio")


@pytest.mark.parametrize("disk", ["Consistent", "Outdated", "UpToDate"])
def test_promote_alone_forces_a_whole_copy_when_the_peer_is_gone(disk: str) -> None:
    forced = promote_alone(alone(disk), None)
    assert forced.promote_alone and not forced.problems and not forced.promote
    assert forced.note and f"drbd0 on torchio: its {disk} copy becomes the pair's data" in forced.note


def test_promote_alone_brings_a_down_resource_up_first() -> None:
    down = states("drbd-diskless-and-unconfigured.txt")["drbd1"]
    forced = plan_resource("drbd1", "torchio", "fiori", "fiori", down, None, False, None, "--data", None, "torchio")
    assert forced.bring_up and forced.promote_alone


def test_promote_alone_is_refused_while_the_peer_can_be_reached() -> None:
    refused = promote_alone(alone("Consistent"), alone("UpToDate"))
    assert refused.problems and "promote_alone=torchio: fiori can be reached" in refused.problems[0].rule
    assert refused.problems[0].field == "promote_alone" and not refused.promote_alone


def test_promote_alone_forces_nothing_on_a_new_or_connected_copy() -> None:
    # A new resource alone is the first_leg case (a one-legged start), never promote_alone's.
    new = alone("Inconsistent")
    new = DrbdResourceState(**{**new.__dict__, "generation": "0000000000000004:" + "0" * 16 + ":0:0:0:0:0:1:0:0:0"})
    refused = promote_alone(new, None)
    assert not refused.promote_alone and "--data first_leg=torchio" in refused.problems[0].rule
    connected = DrbdResourceState(**{**alone("Consistent").__dict__, "connection": "Connected"})
    assert "is connected" in promote_alone(connected, None).problems[0].rule


def test_a_repeated_first_leg_run_on_the_started_leg_forces_nothing() -> None:
    started = states("drbd-wfconnection-one-leg.txt")["drbd0"]
    again = plan(started, None, targeted=False, first_leg="fiori")
    assert not again.problems and not again.force_primary and not again.promote


def run_guard(tmp_path: Path, guard: str, answers: dict[str, str]) -> int:
    """A host-side guard of resource_commands against a drbdadm that answers cstate/dstate/get-gi."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(parents=True)
    cases = " ".join(f"{verb}) echo {answer};;" for verb, answer in answers.items())
    (bin_dir / "drbdadm").write_text(f'#!/bin/sh\ncase "$1" in {cases} esac\n')
    (bin_dir / "drbdadm").chmod(0o755)
    command = resource_commands("drbd0")[guard].get_raw_value()
    return subprocess.run(["sh", "-c", command], env={"PATH": f"{bin_dir}:/usr/bin:/bin"}, check=False).returncode


def test_the_one_legged_force_is_checked_on_the_host_against_a_partial_copy(tmp_path: Path) -> None:
    new = {"dstate": "Inconsistent/DUnknown", "get-gi": "0000000000000004:0000000000000000:0:0"}
    assert run_guard(tmp_path / "new", "force_guard", new) == 0
    synced_some = {**new, "get-gi": "8F3C2B1A0E9D7C65:0000000000000000:0:0"}
    assert run_guard(tmp_path / "partial", "force_guard", synced_some) == 1


@pytest.mark.parametrize(
    ("cstate", "dstate", "calls"),
    [
        # A copy in step when the node went down: a plain promotion, with the handler's flag set.
        ("WFConnection", "Consistent/DUnknown", ["primary drbd0"]),
        # The peer certainly had newer data: only a forced promotion takes this copy.
        ("StandAlone", "Outdated/DUnknown", ["primary --force drbd0"]),
        ("Connected", "UpToDate/UpToDate", []),
        ("SyncTarget", "Inconsistent/UpToDate", []),
        ("WFConnection", "Inconsistent/DUnknown", []),
    ],
)
def test_promote_alone_is_checked_on_the_host(tmp_path: Path, cstate: str, dstate: str, calls: list[str]) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    flag = tmp_path / "run" / "promote-alone"
    (bin_dir / "drbdadm").write_text(
        f'#!/bin/sh\ncase "$1" in cstate) echo {cstate};; dstate) echo {dstate};; '
        f'primary) echo "$* flag=$(cat {flag} 2>/dev/null)" >> {tmp_path}/calls;; esac\n'
    )
    (bin_dir / "drbdadm").chmod(0o755)
    command = (
        resource_commands("drbd0")["promote_alone"].get_raw_value().replace("/run/twinstore/promote-alone", str(flag))
    )
    ran = subprocess.run(["sh", "-c", command], env={"PATH": f"{bin_dir}:/usr/bin:/bin"}, check=False)
    made = (tmp_path / "calls").read_text().splitlines() if (tmp_path / "calls").exists() else []
    assert [call.split(" flag=")[0] for call in made] == calls
    assert (ran.returncode == 0) is bool(calls)
    if calls == ["primary drbd0"]:
        assert made == ["primary drbd0 flag=drbd0"]
    assert not flag.exists(), "the flag outlives the promotion"


def test_a_node_that_went_down_in_step_with_its_peer_waits_as_read_on_the_lab() -> None:
    # torchio booted alone after both nodes lost power while connected (tests/e2e/test_faults.py):
    # DRBD attached its copy as Consistent, and get-gi says it crashed as a Primary.
    found = states("drbd-consistent-waiting-alone.txt")
    for name, resource in found.items():
        assert (resource.connection, resource.role, resource.disk, resource.peer_disk) == (
            "WFConnection", "Secondary", "Consistent", "DUnknown",
        )  # fmt: skip
        assert resource.generation_flags["consistent"] and resource.generation_flags["crashed_primary"]
        assert not resource.generation_flags["peer_outdated"] and not resource.partial_copy
        waiting = plan(resource, None, host="torchio", targeted=False)
        assert not waiting.promote and not waiting.problems
        assert waiting.note is not None and f"{name} on torchio waits for fiori" in waiting.note


def test_the_resource_file_holds_the_secret_and_nothing_else_shows_it() -> None:
    config = real_storage_config()
    secret = config.drbd_options.secret.get_secret_value()
    assert secret not in repr(config) and secret not in str(config.drbd_options)
    text = render_template(
        Path(__file__).parents[1] / "templates" / "drbd" / "resource.res.j2",
        resource_name="drbd0",
        resource=config.drbd_resources["drbd0"],
        disk="/dev/mapper/vg0-rep--drbd0",
        options=config.drbd_options,
        nodes=[{"name": node.name, "address": str(node.lan_address)} for node in config.nodes],
    )
    assert f'shared-secret "{secret}";' in text


def resource_file(options: object) -> str:
    config = real_storage_config()
    return render_template(
        Path(__file__).parents[1] / "templates" / "drbd" / "resource.res.j2",
        resource_name="drbd0",
        resource=config.drbd_resources["drbd0"],
        disk="/dev/mapper/vg0-rep--drbd0",
        options=options,
        nodes=[{"name": node.name, "address": str(node.lan_address)} for node in config.nodes],
    )


def test_the_resources_name_a_verify_algorithm_so_drbdadm_verify_can_run() -> None:
    options = real_storage_config().drbd_options
    assert "        verify-alg crc32c;\n" in resource_file(options)
    assert "verify-alg" not in resource_file(options.model_copy(update={"verify_alg": None}))
    with pytest.raises(ValueError, match="verify_alg"):
        type(options).model_validate({**options.model_dump(), "verify_alg": "crc32c; shared-secret x"})


def test_a_new_pairs_backing_volume_is_zeroed_only_after_the_blank_check_and_before_create_md() -> None:
    device = "/dev/mapper/vg0-rep--drbd0"
    zeroed = [str(command) for command in metadata._inner(resource="drbd0", device=device, zero=True)]
    assert len(zeroed) == 3
    assert "refuse_unless_blank" in zeroed[0] or "blkid -p" in zeroed[0], zeroed[0]
    assert zeroed[1:] == [f"blkdiscard --zeroout {device}", "drbdadm create-md drbd0"]
    plain = [str(command) for command in metadata._inner(resource="drbd0", device=device)]
    assert plain == [zeroed[0], "drbdadm create-md drbd0"]
