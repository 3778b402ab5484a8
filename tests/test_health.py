"""The health report's facts, verdict and table, on states built as the facts return them."""

from __future__ import annotations

import dataclasses
import subprocess
from pathlib import Path

import pytest

from facts.boot import BootWait, BootWaitState, WaitingResource
from facts.drbd import parse_proc_drbd
from facts.health import Fencing, StorageHealth, StorageHealthState, VerifyRecord, VolumeUsage
from facts.nfs import NfsExportsState
from facts.ocfs2 import Ocfs2State
from facts.util import SECTION, script_file
from operations.health import NodeHealth, notifications, pair_problems, pair_table, quota_note, verdict
from tests.helpers import drbd_resource
from tests.test_lvm import lab_config

NOW = 1_764_150_000
CONFIG = lab_config()
MOUNTS = ["/vol/rep-no", "/vol/rep-unison", "/vol/ocfs2-small", "/vol/ocfs2-large"]
# all.py's client_network, and what the kernel exports each path to on the lab (its client trusted).
CLIENTS = ["192.168.1.0/24"]
EXPORTED_TO = frozenset({"192.168.1.10", "192.168.1.0/24"})
EXPORTS = {
    "/vol/pub": "/vol/rep-unison/pub",
    "/vol/home": "/vol/ocfs2-small/home",
    "/vol/mail": "/vol/ocfs2-small/mail",
    "/vol/wikis": "/vol/ocfs2-small/wikis",
    "/vol/svn": "/vol/ocfs2-small/svn",
}


def healthy_node(client: bool) -> NodeHealth:
    fs_types = {"/vol/rep-no": "ext4", "/vol/rep-unison": "ext4"}
    return NodeHealth(
        drbd={"drbd0": drbd_resource("drbd0", 0), "drbd1": drbd_resource("drbd1", 1)},
        ocfs2=Ocfs2State(
            online=True, cluster_members={"fiori": "a", "torchio": "b"}, timeouts=CONFIG.ocfs2_cluster.timeouts
        ),
        exports=NfsExportsState(
            exported=frozenset(EXPORTS.values()),
            resolved=dict(EXPORTS),
            clients={path: EXPORTED_TO for path in EXPORTS.values()},
        ),
        storage=StorageHealthState(
            now=NOW,
            heartbeat_regions=2,
            last_sync=(NOW - 7200, 0) if client else None,
            volumes={point: VolumeUsage(fs_types.get(point, "ocfs2"), 1048576, 524288) for point in MOUNTS},
            # fiori, the pair's first node, verifies: both resources two days ago, clean.
            verifies=(
                {
                    key: VerifyRecord(NOW - 2 * 86400 - 600, NOW - 2 * 86400, "done", 0)
                    for resource in ("drbd0", "drbd1")
                    for key in (resource, f"{resource}.done")
                }
                if client
                else {}
            ),
            verify_scheduled=NOW - 30 * 86400,
        ),
        boot=BootWaitState(),
    )


def pair() -> dict[str, NodeHealth | None]:
    return {"fiori": healthy_node(client=True), "torchio": healthy_node(client=False)}


def test_the_fact_reads_space_heartbeat_and_the_last_sync() -> None:
    output = [
        f"{SECTION}now",
        str(NOW),
        f"{SECTION}heartbeat",
        "/sys/kernel/config/cluster/ocfs2/heartbeat/0A1B2C",
        "/sys/kernel/config/cluster/ocfs2/heartbeat/3D4E5F",
        f"{SECTION}last_run",
        f"{NOW - 60} 0",
        f"{SECTION}volumes",
        "/vol/rep-no ext4 999320 930000",
        "/vol/ocfs2-small ocfs2 1048576 700000",
    ]
    assert StorageHealth().process(output) == StorageHealthState(
        now=NOW,
        heartbeat_regions=2,
        last_sync=(NOW - 60, 0),
        volumes={
            "/vol/rep-no": VolumeUsage("ext4", 999320, 930000),
            "/vol/ocfs2-small": VolumeUsage("ocfs2", 1048576, 700000),
        },
    )


def test_a_healthy_pair_has_no_problem_and_a_row_per_resource_volume_and_service() -> None:
    nodes = pair()
    assert pair_problems(CONFIG, nodes, CLIENTS) == []
    table = pair_table(CONFIG, nodes).splitlines()
    assert table[0].split() == ["fiori", "torchio"]
    assert [line.split()[0] for line in table[1:]] == [
        "boot",
        "DRBD",
        "DRBD",
        "o2cb",
        *MOUNTS,
        "exports",
        "unison",
        "verify",
        "verify",
    ]
    assert table[2].count("Connected Primary/Primary UpToDate/UpToDate oos 0 KiB") == 2
    assert "ext4, 512 of 1024 MiB free" in table[5]
    assert table[-4].count("5/5 exported") == 2
    assert "last sync 2 h ago, ok" in table[-3]
    assert table[-1].split() == ["verify", "drbd1", "done", "2", "days", "ago,", "0", "KiB", "out", "of", "sync", "-"]


def test_a_split_brain_resolved_since_is_not_reported() -> None:
    nodes = pair()
    fiori = nodes["fiori"]
    assert fiori is not None
    # The kernel log still holds the report, but the resource has connected again since.
    resolved = drbd_resource("drbd1", 1, split_brain_reported=True)
    nodes["fiori"] = dataclasses.replace(fiori, drbd={**fiori.drbd, "drbd1": resolved})
    assert pair_problems(CONFIG, nodes, CLIENTS) == []
    assert "SPLIT BRAIN" not in pair_table(CONFIG, nodes)


def test_every_kind_of_trouble_is_named() -> None:
    nodes = pair()
    fiori = nodes["fiori"]
    assert fiori is not None
    nodes["fiori"] = dataclasses.replace(
        fiori,
        drbd={
            "drbd0": drbd_resource("drbd0", 0, connection="StandAlone", peer_role="Unknown", split_brain_reported=True),
            "drbd1": drbd_resource("drbd1", 1, out_of_sync_kib=4096),
        },
        ocfs2=Ocfs2State(online=False),
        exports=NfsExportsState(exported=frozenset(), resolved=dict(EXPORTS)),
        storage=dataclasses.replace(
            fiori.storage,
            last_sync=(NOW - 3 * 86400, 3),
            volumes={point: usage for point, usage in fiori.storage.volumes.items() if point != "/vol/ocfs2-large"},
        ),
    )
    nodes["torchio"] = None
    problems = pair_problems(CONFIG, nodes, CLIENTS)
    text = "\n".join(problems)
    assert "fiori: drbd0 reports a split brain" in text
    assert "fiori: drbd0 is StandAlone" in text and "fiori: drbd1 is Connected" in text and "4096 KiB" in text
    assert "fiori: the o2cb cluster ocfs2 is not online" in text
    assert "fiori: /vol/ocfs2-large is not mounted" in text
    assert "fiori: /vol/pub is not exported" in text
    assert "fiori: the last unison sync failed (exit status 3)" in text
    assert "fiori: the last unison sync ran 3 days ago (more than 26 h)" in text
    assert "torchio cannot be reached" in text
    table = pair_table(CONFIG, nodes)
    assert "SPLIT BRAIN" in table and "NOT MOUNTED" in table and "unreachable" in table and "FAILED (exit 3)" in table


def test_a_client_that_never_synced_is_a_problem() -> None:
    nodes = pair()
    fiori = nodes["fiori"]
    assert fiori is not None
    nodes["fiori"] = dataclasses.replace(fiori, storage=dataclasses.replace(fiori.storage, last_sync=None))
    assert pair_problems(CONFIG, nodes, CLIENTS) == ["fiori: unison has never synced rep-unison"]


def test_a_node_waiting_for_its_peer_is_named_with_what_waits_and_since_when() -> None:
    waiting = BootWait().process(["since 1764520000", "drbd0 WFConnection Consistent/DUnknown"])
    assert waiting == BootWaitState(1764520000, {"drbd0": WaitingResource("WFConnection", "Consistent/DUnknown")})
    assert BootWait().process([]) == BootWaitState() and not BootWait().process([]).waiting
    nodes = {"fiori": None, "torchio": dataclasses.replace(healthy_node(client=False), boot=waiting)}
    problems = pair_problems(CONFIG, nodes, CLIENTS)
    assert "fiori cannot be reached" in problems
    assert (
        "torchio: twinstore-storage.service is waiting for the peer since 2025-11-30 16:26:40 UTC "
        "(drbd0 WFConnection Consistent/DUnknown); not promoted alone because this node's copy may be older "
        "than the peer's"
    ) in problems
    table = pair_table(CONFIG, nodes).splitlines()
    assert table[1].split(None, 2) == ["boot", "unreachable", "WAITING for the peer since 2025-11-30 16:26 UTC"]


def test_split_brains_from_the_kernel_journal_are_reported_resolved_or_not() -> None:
    output = [
        f"{SECTION}now",
        str(NOW),
        f"{SECTION}splitbrains",
        f"{NOW - 600}.123456 fiori kernel: block drbd1: Split-Brain detected, 0 primaries, automatically solved. "
        "Sync from this node",
        f"{NOW - 60}.5 fiori kernel: block drbd0: Split-Brain detected but unresolved, dropping connection!",
        f"{NOW - 45}.5 fiori kernel: block drbd0: Split-Brain detected, manually solved. Sync from peer node",
        f"{NOW - 30}.5 fiori kernel: drbd drbd1: some other line",
        # Debian 13's kernel (6.12): resource/volume, then the device.
        f"{NOW - 20}.081726 fiori kernel: drbd drbd1/0 drbd1: Split-Brain detected but unresolved, dropping "
        "connection!",
    ]
    found = StorageHealth().process(output).split_brains
    assert [(event.when, event.resource, event.outcome) for event in found] == [
        (NOW - 600, "drbd1", "automatically"),
        (NOW - 60, "drbd0", "unresolved"),
        (NOW - 45, "drbd0", "manually"),
        (NOW - 20, "drbd1", "unresolved"),
    ]
    node = healthy_node(client=True)
    node = dataclasses.replace(node, storage=dataclasses.replace(node.storage, split_brains=found))
    problems = pair_problems(CONFIG, {"fiori": node, "torchio": healthy_node(client=False)}, CLIENTS)
    assert any(
        problem.startswith("fiori: drbd1 had a split brain at 2025-11-26 09:30:00 UTC, resolved by DRBD's after-sb")
        for problem in problems
    ), problems
    assert any("drbd0 had a split brain" in problem and "not resolved" in problem for problem in problems)
    assert any("drbd0 had a split brain" in problem and "resolved by hand" in problem for problem in problems)


def test_a_path_exported_to_some_of_its_clients_only_is_reported() -> None:
    nodes = pair()
    fiori = nodes["fiori"]
    assert fiori is not None
    pub = EXPORTS["/vol/pub"]
    clients = {**fiori.exports.clients, pub: frozenset({"192.168.1.10"})}
    nodes["fiori"] = dataclasses.replace(fiori, exports=dataclasses.replace(fiori.exports, clients=clients))
    assert pair_problems(CONFIG, nodes, CLIENTS) == ["fiori: /vol/pub is not exported to 192.168.1.0/24"]


def test_the_verdict_calls_a_pair_with_a_node_out_of_reach_degraded() -> None:
    nodes = pair()
    assert verdict(nodes, []) == "HEALTHY"
    assert verdict(nodes, ["fiori: /vol/pub is not exported"]) == "NOT HEALTHY (1 problem(s))"
    nodes["fiori"] = None
    problems = pair_problems(CONFIG, nodes, CLIENTS)
    assert verdict(nodes, problems) == f"DEGRADED, fiori unreachable ({len(problems)} problem(s))"
    both_away = verdict({"fiori": None, "torchio": None}, ["a", "b"])
    assert both_away == "DEGRADED, fiori and torchio unreachable (2 problem(s))"


def test_the_report_says_where_notifications_go_and_when_they_go_nowhere() -> None:
    assert CONFIG.mail_relay is not None
    assert notifications(CONFIG) == f"notifications: mailed to root through the relay {CONFIG.mail_relay}"
    silent = notifications(CONFIG.model_copy(update={"mail_relay": None}))
    assert silent.startswith("notifications: GO NOWHERE: no mail_relay is configured")


def test_o2cb_timeouts_other_than_configured_or_than_the_peers_are_problems() -> None:
    nodes = pair()
    fiori = nodes["fiori"]
    assert fiori is not None
    running = {**CONFIG.ocfs2_cluster.timeouts, "idle_timeout_ms": 30000}
    nodes["fiori"] = dataclasses.replace(fiori, ocfs2=dataclasses.replace(fiori.ocfs2, timeouts=running))
    problems = pair_problems(CONFIG, nodes, CLIENTS)
    assert len(problems) == 2, problems
    assert problems[0].startswith("fiori: o2cb runs with heartbeat_threshold 61, idle_timeout_ms 30000, ")
    assert "group_data says heartbeat_threshold 61, idle_timeout_ms 60000" in problems[0]
    assert problems[1].startswith(
        "o2cb timeouts differ between the nodes (fiori heartbeat_threshold 61, idle_timeout_ms 30000"
    )


def test_frozen_io_is_named_with_the_failed_fencing_and_the_way_out() -> None:
    output = [f"{SECTION}fencing", "2026-12-02T12:35:59Z failed torchio drbd1", f"{SECTION}now", str(NOW)]
    state = StorageHealth().process(output)
    assert state.last_fencing == Fencing("2026-12-02T12:35:59Z", "failed", "torchio", "drbd1")
    # /proc/drbd's I/O flag: r running, s suspended (frozen).
    proc = [" 1: cs:WFConnection ro:Primary/Unknown ds:UpToDate/DUnknown C s-----"]
    assert parse_proc_drbd(proc)[1]["io"] == "s"
    nodes = pair()
    fiori = nodes["fiori"]
    assert fiori is not None
    frozen = drbd_resource("drbd1", 1, connection="WFConnection", peer_role="Unknown", peer_disk="DUnknown")
    nodes["fiori"] = dataclasses.replace(
        fiori,
        drbd={**fiori.drbd, "drbd1": dataclasses.replace(frozen, io_suspended=True)},
        storage=dataclasses.replace(fiori.storage, last_fencing=state.last_fencing),
    )
    problems = pair_problems(CONFIG, nodes, CLIENTS)
    assert (
        "fiori: I/O on drbd1 is frozen: fencing torchio failed (2026-12-02T12:35:59Z, journalctl -t "
        "twinstore-fence-peer). Nothing is written until torchio is known to be off: make sure it is (its power, "
        "its BMC), then `drbdadm resume-io all` on fiori (README, Fencing)"
    ) in problems
    assert verdict(nodes, problems) == "NOT HEALTHY (2 problem(s))"


@pytest.mark.parametrize(("flags", "frozen"), [("r-----", ""), ("s-----", "1"), ("r----s", ""), ("s---d-", "1")])
def test_the_frozen_test_reads_drbds_io_flag(tmp_path: Path, flags: str, frozen: str) -> None:
    proc = tmp_path / "drbd"
    proc.write_text(
        "version: 8.4.11 (api:1/proto:86-101)\n"
        " 0: cs:Connected ro:Primary/Primary ds:UpToDate/UpToDate C r-----\n"
        "    ns:0 nr:0 dw:0 dr:0 al:0 bm:0 lo:0 pe:0 ua:0 ap:0 ep:1 wo:f oos:0\n"
        f" 1: cs:WFConnection ro:Primary/Unknown ds:UpToDate/DUnknown C {flags}\n"
    )
    script = script_file("frozen").replace("/proc/drbd", str(proc)) + 'echo "frozen=$frozen"'
    result = subprocess.run(["sh", "-c", script], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == f"frozen={frozen}"


def test_a_frozen_node_is_reported_without_touching_its_volumes() -> None:
    # The fact does not stat a volume on DRBD while I/O is frozen, nor resolve export paths.
    state = StorageHealth().process(
        [f"{SECTION}volumes", "/vol/rep-no ext4 999320 930000", "/vol/ocfs2-small ocfs2 frozen"]
    )
    assert state.volumes["/vol/ocfs2-small"] == VolumeUsage("ocfs2", 0, 0, frozen=True)
    nodes = pair()
    fiori = nodes["fiori"]
    assert fiori is not None
    frozen = {
        name: dataclasses.replace(
            drbd, connection="WFConnection", peer_role="Unknown", peer_disk="DUnknown", io_suspended=True
        )
        for name, drbd in fiori.drbd.items()
    }
    volumes = {
        point: dataclasses.replace(usage, frozen=usage.fs_type == "ocfs2")
        for point, usage in fiori.storage.volumes.items()
    }
    nodes["fiori"] = dataclasses.replace(
        fiori,
        drbd=frozen,
        exports=NfsExportsState(exported=fiori.exports.exported, frozen=True),
        storage=dataclasses.replace(
            fiori.storage,
            volumes=volumes,
            last_fencing=Fencing("2026-12-02T12:35:59Z", "failed", "torchio", "drbd0"),
        ),
    )
    problems = pair_problems(CONFIG, nodes, CLIENTS)
    assert any(
        problem.startswith("fiori: I/O on drbd0, drbd1 is frozen: fencing torchio failed") for problem in problems
    )
    assert not any("not mounted" in problem or "not exported" in problem for problem in problems), problems
    table = pair_table(CONFIG, nodes)
    assert "ocfs2, FROZEN (I/O suspended)" in table
    assert "not checked: I/O frozen" in table
    assert "ext4, 512 of 1024 MiB free" in table


def test_a_peer_powered_off_by_fencing_is_named_until_the_pair_is_connected_again() -> None:
    nodes = pair()
    fiori = nodes["fiori"]
    assert fiori is not None
    fenced = Fencing("2026-12-02T12:35:59Z", "fenced", "torchio", "drbd0")
    alone = {
        name: dataclasses.replace(state, connection="WFConnection", peer_role="Unknown", peer_disk="Outdated")
        for name, state in fiori.drbd.items()
    }
    nodes["fiori"] = dataclasses.replace(
        fiori, drbd=alone, storage=dataclasses.replace(fiori.storage, last_fencing=fenced)
    )
    nodes["torchio"] = None
    problems = pair_problems(CONFIG, nodes, CLIENTS)
    assert "fiori powered torchio off at 2026-12-02T12:35:59Z (fencing after the replication link failed)" in problems
    assert not any("frozen" in problem for problem in problems)
    # Connected again: the old fencing is history, not a problem.
    nodes = pair()
    healthy = nodes["fiori"]
    assert healthy is not None
    nodes["fiori"] = dataclasses.replace(healthy, storage=dataclasses.replace(healthy.storage, last_fencing=fenced))
    assert pair_problems(CONFIG, nodes, CLIENTS) == []


def clean_verifies(nodes: dict[str, NodeHealth | None]) -> dict[str, VerifyRecord]:
    fiori = nodes["fiori"]
    assert fiori is not None
    return dict(fiori.storage.verifies)


def with_verifies(nodes: dict[str, NodeHealth | None], **storage: object) -> None:
    """fiori's verify records and timer replaced."""
    fiori = nodes["fiori"]
    assert fiori is not None
    nodes["fiori"] = dataclasses.replace(fiori, storage=dataclasses.replace(fiori.storage, **storage))  # type: ignore[arg-type]


def test_the_fact_reads_the_verify_records_and_when_the_schedule_was_set() -> None:
    output = [
        f"{SECTION}now",
        str(NOW),
        f"{SECTION}verify",
        f"drbd0 {NOW - 100} {NOW - 40} done 4",
        f"drbd0.done {NOW - 100} {NOW - 40} done 4",
        f"drbd1 {NOW - 30} {NOW - 30} skipped -",
        "garbage",
        f"{SECTION}verify_timer",
        str(NOW - 86400),
    ]
    state = StorageHealth().process(output)
    assert state.verifies == {
        "drbd0": VerifyRecord(NOW - 100, NOW - 40, "done", 4),
        "drbd0.done": VerifyRecord(NOW - 100, NOW - 40, "done", 4),
        "drbd1": VerifyRecord(NOW - 30, NOW - 30, "skipped", None),
    }
    assert state.verify_scheduled == NOW - 86400
    assert StorageHealth().process([f"{SECTION}verify", f"{SECTION}verify_timer"]).verify_scheduled is None


def test_blocks_a_verify_found_are_named_with_the_repair_until_they_are_resynced() -> None:
    nodes = pair()
    found = VerifyRecord(NOW - 3600, NOW - 3500, "done", 4)
    with_verifies(nodes, verifies={**clean_verifies(nodes), "drbd0": found, "drbd0.done": found})
    # DRBD marked the block out of sync on both nodes.
    for name in ("fiori", "torchio"):
        node = nodes[name]
        assert node is not None
        nodes[name] = dataclasses.replace(
            node, drbd={**node.drbd, "drbd0": drbd_resource("drbd0", 0, out_of_sync_kib=4)}
        )
    problems = pair_problems(CONFIG, nodes, CLIENTS)
    found_problems = [problem for problem in problems if "verify" in problem]
    assert len(found_problems) == 1, problems
    assert found_problems[0].startswith(
        "drbd0: the verify of 2025-11-26 08:41:40 UTC found 4 KiB (1 block(s) of 4 KiB)"
    )
    assert "still out of sync on fiori, torchio" in found_problems[0]
    assert "`systemctl restart twinstore-storage`" in found_problems[0]
    assert "done 58 min ago, 4 KiB out of sync" in pair_table(CONFIG, nodes)
    # Resynced since: the record stays, the pair is healthy again.
    nodes = pair()
    with_verifies(nodes, verifies={**clean_verifies(nodes), "drbd0": found, "drbd0.done": found})
    assert pair_problems(CONFIG, nodes, CLIENTS) == []


def test_a_resource_not_verified_within_the_limit_is_a_problem() -> None:
    limit = CONFIG.verify.max_age_days
    nodes = pair()
    old = VerifyRecord(NOW - (limit + 1) * 86400 - 60, NOW - (limit + 1) * 86400, "done", 0)
    skipped = VerifyRecord(NOW - 3600, NOW - 3600, "skipped", None)
    with_verifies(nodes, verifies={"drbd0": skipped, "drbd0.done": old, "drbd1": old, "drbd1.done": old})
    problems = pair_problems(CONFIG, nodes, CLIENTS)
    assert problems == [
        f"fiori: {resource} was last verified {limit + 1} days ago (more than verify.max_age_days, {limit}; "
        "journalctl -u twinstore-verify on fiori)"
        for resource in ("drbd0", "drbd1")
    ]
    assert f"skipped 1 h ago; last done {limit + 1} days ago" in pair_table(CONFIG, nodes)
    # Never verified: counted from when the schedule was set.
    nodes = pair()
    with_verifies(nodes, verifies={}, verify_scheduled=NOW - 86400)
    assert pair_problems(CONFIG, nodes, CLIENTS) == []
    assert "never (scheduled Sun *-*-* 03:00:00)" in pair_table(CONFIG, nodes)
    with_verifies(nodes, verify_scheduled=NOW - (limit + 2) * 86400)
    assert [problem.split(" (")[0] for problem in pair_problems(CONFIG, nodes, CLIENTS)] == [
        f"fiori: {resource} has not been verified in the {limit + 2} days since the verify was scheduled"
        for resource in ("drbd0", "drbd1")
    ]
    # No timer on the node that should verify: a deploy is missing.
    with_verifies(nodes, verify_scheduled=None)
    assert pair_problems(CONFIG, nodes, CLIENTS) == [
        "fiori: no verify timer (twinstore-verify.timer; a deploy installs it)"
    ]
    # No schedule, nothing asked.
    unscheduled = CONFIG.model_copy(update={"verify": CONFIG.verify.model_copy(update={"schedule": None})})
    assert pair_problems(unscheduled, nodes, CLIENTS) == []


def test_a_verify_running_is_not_a_problem() -> None:
    nodes = pair()
    for name, connection in (("fiori", "VerifyS"), ("torchio", "VerifyT")):
        node = nodes[name]
        assert node is not None
        nodes[name] = dataclasses.replace(
            node, drbd={**node.drbd, "drbd1": drbd_resource("drbd1", 1, connection=connection)}
        )
    assert pair_problems(CONFIG, nodes, CLIENTS) == []
    torchio = nodes["torchio"]
    assert torchio is not None
    nodes["torchio"] = dataclasses.replace(
        torchio, drbd={**torchio.drbd, "drbd1": drbd_resource("drbd1", 1, connection="VerifyT", peer_disk="Outdated")}
    )
    assert pair_problems(CONFIG, nodes, CLIENTS) == [
        "torchio: drbd1 is VerifyT Primary/Primary UpToDate/Outdated, out of sync 0 KiB"
    ]


def test_ocfs2_quota_accounting_is_read_and_noted_without_making_the_pair_unhealthy() -> None:
    output = [
        f"{SECTION}volumes",
        "/vol/rep-no ext4 999320 930000",
        "/vol/ocfs2-small ocfs2 1048576 700000 unwritten usrquota grpquota",
        "/vol/ocfs2-large ocfs2 1048576 700000 unwritten",
    ]
    volumes = StorageHealth().process(output).volumes
    assert volumes["/vol/ocfs2-small"] == VolumeUsage(
        "ocfs2", 1048576, 700000, features=("unwritten", "usrquota", "grpquota")
    )
    assert volumes["/vol/ocfs2-small"].quota_accounting
    assert not volumes["/vol/ocfs2-large"].quota_accounting
    assert not volumes["/vol/rep-no"].quota_accounting
    assert quota_note(pair()) == ""
    nodes = pair()
    fiori = nodes["fiori"]
    assert fiori is not None
    volumes = fiori.storage.volumes | volumes
    nodes["fiori"] = dataclasses.replace(fiori, storage=dataclasses.replace(fiori.storage, volumes=volumes))
    assert pair_problems(CONFIG, nodes, CLIENTS) == []
    note = quota_note(nodes)
    assert "ON on /vol/ocfs2-small (" in note and "/vol/ocfs2-large" not in note
    assert "README, OCFS2 quota accounting" in note
    assert "ocfs2, 683 of 1024 MiB free, quota accounting ON" in pair_table(CONFIG, nodes)
