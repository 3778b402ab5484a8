"""The replication link: the fact on output captured on the lab, when a move runs, and its commands."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from facts.drbd import DrbdResourceState
from facts.ocfs2 import Ocfs2State
from facts.replication import DrbdAddresses, ReplicationLink, ReplicationLinkState
from operations import replication
from operations.replication import plan_link_move
from tests.helpers import drbd_resource, real_storage_config, render_template
from twinstore.config import StorageConfig

FIXTURES = Path(__file__).parent / "fixtures"
TEMPLATES = Path(__file__).parent.parent / "templates" / "replication"
BACKLINK = {"mode": "backlink", "interface": "eth2", "prefix_length": 24}
LAN_MEMBERS = {"fiori": "192.168.1.6:7777", "torchio": "192.168.1.7:7777"}


def lan_link() -> ReplicationLinkState:
    return ReplicationLink().process((FIXTURES / "replication-lan.txt").read_text().splitlines())


def both_healthy() -> dict[str, DrbdResourceState]:
    return {"drbd0": drbd_resource("drbd0", 0), "drbd1": drbd_resource("drbd1", 1)}


def plan(
    config: StorageConfig,
    link: ReplicationLinkState | None = None,
    members: dict[str, str] | None = None,
    local: dict[str, DrbdResourceState] | None = None,
    peer: dict[str, DrbdResourceState] | None = None,
    peer_targeted: bool = True,
    reachable: bool = True,
    timeouts: dict[str, int] | None = None,
) -> replication.LinkMove:
    return plan_link_move(
        config,
        "fiori",
        link or lan_link(),
        # No members: the cluster is offline, as before the first deploy.
        Ocfs2State(
            online=members != {},
            cluster_members=members if members is not None else LAN_MEMBERS,
            timeouts=config.ocfs2_cluster.timeouts if timeouts is None else timeouts,
        ),
        local or both_healthy(),
        (peer or both_healthy()) if reachable else None,
        peer_targeted,
        source="--data",
        ocfs2_source="group_data/storage.py",
    )


def test_fact_reads_the_running_drbd_addresses_and_the_interfaces() -> None:
    link = lan_link()
    assert link.drbd == {
        "drbd0": DrbdAddresses(this_host="192.168.1.6:7790", remote_host="192.168.1.7:7790"),
        "drbd1": DrbdAddresses(this_host="192.168.1.6:7791", remote_host="192.168.1.7:7791"),
    }
    assert link.interface_addresses["eth1"] == ("192.168.1.6/24",)
    # Captured after the e2e test had moved the link and back: eth2 keeps its address.
    assert link.interface_addresses["eth2"] == ("10.99.0.6/24",)
    assert link.has_address("eth1", "192.168.1.6") and not link.has_address("eth2", "10.99.0.7")


def test_fact_without_drbd_or_addresses_is_empty() -> None:
    assert ReplicationLink().process(["#twinstore-section drbd", "#twinstore-section addresses"]) == (
        ReplicationLinkState()
    )


def test_running_as_configured_is_no_move() -> None:
    move = plan(real_storage_config())
    assert not move.needed and move.problems == []


def test_a_node_not_in_service_is_no_move() -> None:
    # Nothing runs yet (a new pair): the files are written, the usual bring-up uses them.
    move = plan(real_storage_config(replication_link=BACKLINK), link=ReplicationLinkState(), members={})
    assert not move.needed and move.problems == []


def test_configured_backlink_while_drbd_and_o2cb_run_on_the_lan_is_a_move() -> None:
    move = plan(real_storage_config(replication_link=BACKLINK))
    assert move.needed and move.problems == []
    assert move.differences == [
        "drbd0 runs on 192.168.1.6:7790 to 192.168.1.7:7790, configured 10.99.0.6:7790 to 10.99.0.7:7790",
        "drbd1 runs on 192.168.1.6:7791 to 192.168.1.7:7791, configured 10.99.0.6:7791 to 10.99.0.7:7791",
        "o2cb runs with fiori 192.168.1.6:7777, torchio 192.168.1.7:7777",
    ]


def test_o2cb_alone_on_old_addresses_is_a_move() -> None:
    # A move interrupted after DRBD came back: o2cb still has the LAN members.
    config = real_storage_config(replication_link=BACKLINK)
    moved = ReplicationLinkState(
        drbd={
            "drbd0": DrbdAddresses("10.99.0.6:7790", "10.99.0.7:7790"),
            "drbd1": DrbdAddresses("10.99.0.6:7791", "10.99.0.7:7791"),
        }
    )
    move = plan(config, link=moved)
    assert move.differences == ["o2cb runs with fiori 192.168.1.6:7777, torchio 192.168.1.7:7777"]


def test_new_o2cb_timeouts_take_the_pair_out_of_service_together() -> None:
    config = real_storage_config()
    running = {**config.ocfs2_cluster.timeouts, "idle_timeout_ms": 30000, "keepalive_delay_ms": 2000}
    move = plan(config, timeouts=running)
    assert move.needed and not move.moves_link and move.problems == []
    assert move.reasons == [
        "o2cb runs with idle_timeout_ms 30000, configured 60000",
        "o2cb runs with keepalive_delay_ms 2000, configured 4000",
    ]
    assert replication.move_title(config, move) == (
        "Apply the configured o2cb timeouts (idle_timeout_ms 30000 -> 60000, keepalive_delay_ms 2000 -> 4000)"
    )
    left_out = plan(config, timeouts=running, peer_targeted=False).problems
    assert [(p.source, p.field, p.value) for p in left_out] == [
        ("group_data/storage.py", "ocfs2_cluster.idle_timeout_ms", "60000")
    ]
    assert left_out[0].rule.startswith("applying new o2cb timeouts takes both nodes out of service together")
    syncing = {**both_healthy(), "drbd1": drbd_resource("drbd1", 1, connection="SyncTarget", disk="Inconsistent")}
    assert "drbd1 on torchio is SyncTarget" in plan(config, timeouts=running, peer=syncing).problems[0].rule
    # An offline cluster reads none: it starts with the files' values.
    assert not plan(config, members={}, timeouts={}).needed


def test_a_move_needs_both_nodes() -> None:
    config = real_storage_config(replication_link=BACKLINK)
    left_out = plan(config, peer_targeted=False)
    assert [problem.rule for problem in left_out.problems] == [
        "moving the replication link takes both nodes out of service together, and torchio is left out by "
        "--limit; run the deploy on both nodes of the pair"
    ]
    assert left_out.problems[0].field == "replication_link.mode" and left_out.problems[0].value == "backlink"
    unreachable = plan(config, reachable=False)
    assert "torchio cannot be reached" in unreachable.problems[0].rule


def test_no_move_during_a_resync_or_a_split_brain() -> None:
    config = real_storage_config(replication_link=BACKLINK)
    syncing = {**both_healthy(), "drbd1": drbd_resource("drbd1", 1, connection="SyncTarget", disk="Inconsistent")}
    move = plan(config, peer=syncing)
    assert "drbd1 on torchio is SyncTarget" in move.problems[0].rule
    split = {**both_healthy(), "drbd0": drbd_resource("drbd0", 0, connection="StandAlone")}
    assert "drbd0 on fiori is StandAlone" in plan(config, local=split).problems[0].rule
    outdated = {**both_healthy(), "drbd0": drbd_resource("drbd0", 0, connection="WFConnection", disk="Outdated")}
    assert "drbd0 on fiori is Outdated" in plan(config, local=outdated).problems[0].rule


def test_a_peer_waiting_for_the_moved_node_may_still_move() -> None:
    # Both UpToDate, one side already on the new link and waiting: going down loses nothing.
    waiting = {
        name: replace(state, connection="WFConnection", peer_role="Unknown", peer_disk="DUnknown")
        for name, state in both_healthy().items()
    }
    move = plan(real_storage_config(replication_link=BACKLINK), local=waiting, peer=waiting)
    assert move.needed and move.problems == []


def test_out_of_service_stops_the_boot_unit_checks_the_mounts_then_stops_o2cb() -> None:
    commands = [str(c.get_raw_value()) for c in replication.out_of_service._inner(reasons=["x"])]
    assert commands[0].startswith("if systemctl -q is-active twinstore-storage.service; then systemctl stop")
    assert "/usr/local/sbin/twinstore-storage stop" in commands[0]
    assert "grep -q ' ocfs2 ' /proc/mounts" in commands[1] and "exit 1" in commands[1]
    assert commands[2] == "systemctl stop o2cb.service"


def test_back_in_service_starts_o2cb_then_the_boot_unit_and_checks_it() -> None:
    commands = [str(c.get_raw_value()) for c in replication.back_in_service._inner()]
    assert commands == [
        "systemctl start o2cb.service",
        "systemctl start twinstore-storage.service",
        "systemctl -q is-active twinstore-storage.service",
    ]


def test_interface_stanza() -> None:
    text = render_template(TEMPLATES / "interface.j2", interface="eth2", address="10.99.0.6/24")
    assert "auto eth2\niface eth2 inet static\n    address 10.99.0.6/24\n" in text


def test_a_disconnected_resource_runs_on_no_address_and_needs_no_move() -> None:
    # drbdsetup show prints no addresses for a StandAlone resource (split brain): that is not a
    # move, or every deploy during a split brain would stop on it.
    link = lan_link()
    standalone = ReplicationLinkState(drbd={**link.drbd, "drbd1": DrbdAddresses()})
    split = {**both_healthy(), "drbd1": drbd_resource("drbd1", 1, connection="StandAlone", peer_role="Unknown")}
    move = plan(real_storage_config(), link=standalone, local=split, peer=split)
    assert not move.needed and move.problems == []
