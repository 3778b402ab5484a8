"""Power cuts in the wrong order and a pulled replication cable: no acknowledged write is lost,
no node serves stale data, and no split brain.

Each scenario starts from the converged lab (a snapshot taken right after the first converge),
or, for the three that begin with the same power cut of both nodes, from a snapshot taken right
after it: both nodes off, or torchio back and waiting (fiori's disks as the cut left them). Each injects the fault
itself (lab/qmp.py: the guest's power is cut, no shutdown runs) while the client writes through
both nodes' exports, and ends with every write the client was told is safe present, byte for
byte, on both nodes.
"""

from __future__ import annotations

import re
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import pytest
import testinfra

from lab.machines import guest_pid
from lab.settings import guest as lab_guest
from tests.e2e.conftest import (
    CONVERGED,
    LAB_INVENTORY,
    Run,
    backlink_window,
    guest,
    run_lab,
    run_pyinfra,
    wait_for,
    wait_until,
)
from tests.e2e.faults import (
    Ack,
    AckWriter,
    bmc_actions,
    longest_gap,
    measured,
    missing_on,
    no_split_brain,
    power_off,
    power_on,
    restore,
)
from tests.e2e.test_metrics import scrape, write_now

pytestmark = pytest.mark.lab_scenario

HEALTHY = "grep -c 'cs:Connected ro:Primary/Primary ds:UpToDate/UpToDate' /proc/drbd"
MOUNTED = "grep -c ' ocfs2 ' /proc/mounts"
WAITING_FILE = "/run/twinstore/waiting"


def in_service(*nodes: testinfra.host.Host) -> None:
    for node in nodes:
        wait_for(node, HEALTHY, "2", timeout=600, every=5)
        wait_for(node, MOUNTED, "2", timeout=300, every=3)
        wait_for(node, "systemctl is-active twinstore-storage nfs-server | sort -u", "active", timeout=300, every=3)


def waits_for_its_peer(node: testinfra.host.Host) -> str:
    """The node came up but keeps out of service: Secondary, nothing mounted or exported. Returns its journal."""
    wait_for(node, f"test -e {WAITING_FILE} && echo waiting", "waiting", timeout=300, every=3)
    assert node.check_output("drbdadm role all").split() == ["Secondary/Unknown", "Secondary/Unknown"]
    assert node.check_output(MOUNTED + " || true") == "0"
    assert node.run("systemctl -q is-active nfs-server").rc != 0
    assert node.check_output("systemctl show -p ActiveState --value twinstore-storage") == "activating"
    journal = str(node.check_output("journalctl -b -q -u twinstore-storage --no-pager"))
    assert "waiting for the peer" in journal, journal[-2000:]
    return journal


def pull_until_torchio_is_fenced(fiori: testinfra.host.Host, cable: str, label: str) -> tuple[AckWriter, float, int]:
    """The client writes through both nodes, then torchio's cable is pulled. Each node freezes
    I/O and runs its fence-peer handler; fiori, the lower o2cb number, powers torchio off at once
    through torchio's BMC, exactly once, and serves alone: its clients wait while o2cb declares
    torchio dead, then write again. Returns the writer, the moment of the pull, and how many BMC
    actions the lab had logged before it."""
    earlier = len(bmc_actions())
    writer = AckWriter()
    writer.start()
    writer.wait_for_more(10)
    cut = time.time()
    run_lab("cable", "torchio", cable, "down")
    wait_until(lambda: guest_pid(lab_guest("torchio")) is None, timeout=300)
    measured(f"{label}replication cable pulled until the peer was powered off", f"{time.time() - cut:.0f} s")
    assert bmc_actions()[earlier:] == [["torchio", "ForceOff"]]
    # The qemu process is gone at the BMC's ForceOff; the agent confirms with its status poll after
    # that, and the handler records and logs only once the agent has answered.
    wait_for(fiori, "cut -d' ' -f2,3 /var/lib/twinstore/fence-peer.last", "fenced torchio", timeout=60)
    journal = fiori.check_output("journalctl -q -t twinstore-fence-peer --no-pager")
    assert "fenced torchio: fence_redfish confirmed it is off (Success: Powered OFF); this node goes on" in journal
    writer.wait_for_more(15, through="fiori")
    stall = longest_gap(writer.acked_through("fiori"), after=cut)
    measured(f"{label}longest wait for an acknowledged write through the survivor after the pull", f"{stall:.0f} s")
    return writer, cut, earlier


def test_a_pulled_cable_fences_one_node_and_a_stale_node_that_boots_first_waits_and_no_write_is_lost(
    converged_lab: None, client: testinfra.host.Host, fiori: testinfra.host.Host, torchio: testinfra.host.Host
) -> None:
    assert "fencing resource-and-stonith;" in fiori.check_output("cat /etc/drbd.d/global_common.conf")
    device = fiori.file("/etc/twinstore/fence-peer")
    assert device.mode == 0o600 and device.user == "root"
    # torchio's replication cable is pulled while both nodes are Primary and take writes (the
    # lab replicates over the LAN, so its LAN cable).
    writer, torchio_cut, earlier = pull_until_torchio_is_fenced(fiori, "lan", "")
    # The site's monitoring sees the lost connection on the survivor, which stays Primary.
    write_now(fiori)
    samples = scrape(client, "fiori")
    assert samples["twinstore_drbd_connected"] == {"resource=drbd0": 0.0, "resource=drbd1": 0.0}
    assert samples["twinstore_drbd_primary"] == {"resource=drbd0": 1.0, "resource=drbd1": 1.0}
    info = samples["twinstore_drbd_state_info"]
    assert all("peer_disk_state=Outdated" in labels for labels in info), info
    # So does the health report, with who powered whom off and when.
    report = run_pyinfra("-y", LAB_INVENTORY, "status.py")
    assert report.returncode != 0, report.output[-3000:]
    assert "Storage pair fiori + torchio: DEGRADED, torchio unreachable" in report.output, report.output[-3000:]
    assert re.search(r"fiori powered torchio off at \S+Z \(fencing after the replication link failed\)", report.output)
    assert "frozen" not in report.output, report.output[-3000:]
    # Then fiori loses power too: the newest data is on fiori alone.
    power_off("fiori")
    acks = writer.stop()
    after_cut = [ack for ack in acks if ack.when > torchio_cut]
    assert len(after_cut) >= 15, "fiori took no writes alone"

    # torchio boots first. Its copy was in step with fiori when it went down, and fiori wrote since:
    # it must not promote, mount or export.
    power_on("torchio")
    journal = waits_for_its_peer(torchio)
    assert "--data promote_alone=torchio" in journal
    status = run_pyinfra("-y", LAB_INVENTORY, "status.py")
    assert status.returncode != 0, status.output[-3000:]
    assert "fiori cannot be reached" in status.output, status.output[-3000:]
    assert "Storage pair fiori + torchio: DEGRADED, fiori unreachable" in status.output
    assert "torchio: twinstore-storage.service is waiting for the peer since" in status.output
    # Neither does the deploy: it says what waits and the way out.
    deploy = run_pyinfra("-y", "--limit", "torchio", LAB_INVENTORY, "deploy.py")
    assert deploy.returncode == 0, deploy.output[-4000:]
    assert re.search(
        r"drbd0 on torchio waits for fiori, which cannot be reached: its copy is Consistent", deploy.output
    )
    assert "If fiori is gone for good: --data promote_alone=torchio" in deploy.output
    assert torchio.check_output("drbdadm role all").split() == ["Secondary/Unknown", "Secondary/Unknown"]

    # fiori comes back: torchio syncs from it, and both serve every acknowledged write.
    power_on("fiori")
    in_service(fiori, torchio)
    assert not torchio.file(WAITING_FILE).exists
    for node in ("fiori", "torchio"):
        assert missing_on(node, writer, acks) == [], f"{node} lost acknowledged writes"
    no_split_brain(fiori, torchio)
    healthy = run_pyinfra("-y", LAB_INVENTORY, "status.py")
    assert healthy.returncode == 0, healthy.output[-3000:]
    # torchio, back, fenced no one (fiori's power cut was the lab's, not a BMC's).
    assert bmc_actions()[earlier:] == [["torchio", "ForceOff"]]


def test_the_back_to_back_cable_pulled_in_backlink_mode_fences_one_node_and_it_rejoins(
    backlink_lab: None, client: testinfra.host.Host, fiori: testinfra.host.Host, torchio: testinfra.host.Host
) -> None:
    # DRBD and o2cb on the back-to-back cable (the link move's window), the clients on the LAN:
    # the pulled cable cuts replication and o2cb only. The BMCs are reached over the management
    # network, so fiori (the lower o2cb number) still powers torchio off.
    writer, cut, earlier = pull_until_torchio_is_fenced(fiori, "link", "backlink mode, back-to-back cable: ")

    # torchio is powered on again (its new cable plugged in): it resyncs from fiori and both serve
    # every acknowledged write, with no split brain; the report on the window's configuration is healthy.
    power_on("torchio")
    in_service(fiori, torchio)
    acks = writer.stop()
    assert [ack for ack in acks if ack.when > cut], "no write was acknowledged after the pull"
    for node in ("fiori", "torchio"):
        assert missing_on(node, writer, acks) == [], f"{node} lost acknowledged writes"
    no_split_brain(fiori, torchio)
    report = run_pyinfra("-y", LAB_INVENTORY, "status.py", *backlink_window())
    assert report.returncode == 0, report.output[-3000:]
    assert bmc_actions()[earlier:] == [["torchio", "ForceOff"]]


def test_a_fence_agent_that_cannot_reach_the_bmc_leaves_io_frozen_until_the_documented_recovery(
    converged_lab: None, client: testinfra.host.Host, fiori: testinfra.host.Host, torchio: testinfra.host.Host
) -> None:
    earlier = len(bmc_actions())
    # Neither node can reach the other's BMC (a dead BMC, a cut management cable).
    run_lab("bmc", "fiori", "down")
    run_lab("bmc", "torchio", "down")
    try:
        writer = AckWriter()
        writer.start()
        writer.wait_for_more(10)
        cut = time.time()
        run_lab("cable", "torchio", "lan", "down")
        # fiori's handler cannot power torchio off, for either resource: I/O stays frozen.
        wait_for(
            fiori,
            "journalctl -q -t twinstore-fence-peer --no-pager | grep -c 'could not fence torchio'",
            "2",
            timeout=120,
        )
        frozen_after = time.time() - cut
        journal = fiori.check_output("journalctl -q -t twinstore-fence-peer --no-pager")
        assert "I/O on drbd0 stays frozen until torchio is known to be off" in journal, journal
        assert "password" not in journal.lower(), journal
        assert fiori.check_output("cut -d' ' -f2,3 /var/lib/twinstore/fence-peer.last") == "failed torchio"
        assert (
            fiori.check_output("grep -c 'cs:WFConnection ro:Primary/Unknown ds:UpToDate/DUnknown C s' /proc/drbd")
            == "2"
        )
        # The health report names it and the way out, without waiting on the frozen volumes, and a
        # deploy refuses instead of waiting on them (both at once: o2cb's clock is running).
        with ThreadPoolExecutor(2) as runs:
            deploying = runs.submit(run_pyinfra, "-y", "--dry", LAB_INVENTORY, "deploy.py")
            report = run_pyinfra("-y", LAB_INVENTORY, "status.py")
            deploy = deploying.result()
        reported_after = time.time() - cut
        # The first node planned ends the run; torchio's I/O is frozen too (its handler waits
        # its delay, then fails as well).
        assert deploy.returncode == 2, deploy.output[-3000:]
        assert re.search(
            r"drbd0 on (fiori|torchio): I/O is frozen: DRBD lost (torchio|fiori) and fencing has not confirmed it off",
            deploy.output,
        ), deploy.output[-3000:]
        assert "`drbdadm resume-io all`" in deploy.output
        assert report.returncode != 0, report.output[-3000:]
        assert "fiori: I/O on drbd0, drbd1 is frozen: fencing torchio failed" in report.output, report.output[-3000:]
        assert "then `drbdadm resume-io all` on fiori" in report.output
        assert "ocfs2, FROZEN (I/O suspended)" in report.output
        # So does the site's monitoring; the metrics script does not wait on the frozen volumes either.
        write_now(fiori)
        samples = scrape(client, "fiori")
        assert samples["twinstore_drbd_io_suspended"] == {"resource=drbd0": 1.0, "resource=drbd1": 1.0}
        sizes = samples["twinstore_volume_size_bytes"]
        assert sizes and not any("ocfs2" in labels for labels in sizes), sizes
        # The documented recovery, within o2cb's disk heartbeat timeout (120 s from the pull):
        # torchio off by other means (here the lab's power switch), then I/O resumed on fiori.
        assert time.time() - cut < 105, f"the report came {reported_after:.0f} s after the pull: too late to recover"
        power_off("torchio")
        fiori.check_output("drbdadm resume-io all")
        resumed = time.time()
        # fiori serves alone again.
        writer.wait_for_more(10, through="fiori")
        measured(
            "failing agent: pull to frozen, reported, resumed; longest wait for a write through fiori",
            f"{frozen_after:.0f} s, {reported_after:.0f} s, {resumed - cut:.0f} s; "
            f"{longest_gap(writer.acked_through('fiori'), after=cut):.0f} s",
        )
        acks = writer.stop()
    finally:
        run_lab("bmc", "fiori", "up")
        run_lab("bmc", "torchio", "up")
    # While I/O was frozen nothing was acknowledged, through either node: nothing to diverge.
    assert [ack for ack in acks if cut + 2 < ack.when < resumed] == []
    assert missing_on("fiori", writer, acks) == []
    # No BMC took any action; the resources on fiori are Primary with torchio outdated by no one
    # but the administrator's word (it is off: it resyncs from fiori when it boots).
    assert bmc_actions()[earlier:] == []
    assert fiori.check_output("grep -c ' C r' /proc/drbd") == "2"
    no_split_brain(fiori)

    # torchio is powered on again: frozen until its power went, it wrote nothing of its own, so it
    # resyncs from fiori and both serve every acknowledged write; the report is healthy again.
    power_on("torchio")
    in_service(fiori, torchio)
    for node in ("fiori", "torchio"):
        assert missing_on(node, writer, acks) == [], f"{node} lost acknowledged writes"
    no_split_brain(fiori, torchio)
    healthy = run_pyinfra("-y", LAB_INVENTORY, "status.py")
    assert healthy.returncode == 0, healthy.output[-3000:]
    assert bmc_actions()[earlier:] == []


def test_a_peer_back_before_the_delayed_power_off_is_not_fenced_and_nothing_is_lost(
    converged_lab: None, fiori: testinfra.host.Host, torchio: testinfra.host.Host
) -> None:
    """The replication link fails while both serve, long enough for DRBD to notice, and fiori
    cannot reach torchio's BMC: both freeze I/O and fiori's fencing fails. torchio's agent gets
    no answer from fiori's hung BMC within its 40 s, and torchio waits its fence delay. The link
    is back and DRBD connects again before torchio would power fiori off: torchio's handler
    looks again right before the power-off and leaves fiori in service. (A node reset while both
    serve that reboots and rejoins before its peer's fencing ends is the same case: the old
    handler powered such a node off after it served again.) No BMC acts, no acknowledged write
    is lost, nothing diverged."""
    earlier = len(bmc_actions())
    run_lab("bmc", "torchio", "down")
    run_lab("bmc", "fiori", "hang")
    since = torchio.check_output("date +%s")
    handler_log = f"journalctl -q -t twinstore-fence-peer --no-pager --since @{since}"
    try:
        writer = AckWriter()
        writer.start()
        writer.wait_for_more(10)
        cut = time.time()
        run_lab("cable", "torchio", "lan", "down")
        # torchio notices (its ping goes unanswered), freezes I/O and runs its handler; the link
        # comes back then, before the other resource may even notice.
        wait_for(torchio, "grep -q 'cs:WFConnection' /proc/drbd && echo lost", "lost", timeout=120, every=1)
        lost_after = time.time() - cut
        run_lab("cable", "torchio", "lan", "up")
        plugged = time.time()
        # Until every handler on torchio has ended (none holds their lock) and both resources are
        # connected.
        settled = "flock -n /run/twinstore-fence-peer.lock grep -c 'cs:Connected' /proc/drbd"
        wait_for(torchio, settled, "2", timeout=240)
        measured(
            "link lost for a while: pull to torchio's handler, plug to both handlers leaving fiori be",
            f"{lost_after:.0f} s, {time.time() - plugged:.0f} s",
        )
        journal = torchio.check_output(handler_log)
        assert "waiting 20 s before fencing it (fiori fences at once)" in journal, journal
        assert re.search(r"drbd\d: fiori came back \((Connected|Sync\w+|WFBitMap\w) on drbd\d\) before it was", journal)
        assert "powering fiori off" not in journal and "could not fence" not in journal, journal
        assert torchio.check_output("cut -d' ' -f2,3 /var/lib/twinstore/fence-peer.last") == "reconnected fiori"
        # fiori's own handlers could not power torchio off, or (when fiori noticed the loss only
        # once the link was back) found torchio back first; its I/O was frozen until DRBD
        # reconnected.
        fiori_journal = fiori.check_output(handler_log)
        assert re.search(r"could not fence torchio|torchio came back", fiori_journal), fiori_journal
        assert "fenced torchio" not in fiori_journal, fiori_journal
        assert bmc_actions()[earlier:] == []
        in_service(fiori, torchio)
        writer.wait_for_more(10, through="fiori")
        writer.wait_for_more(10, through="torchio")
        acks = writer.stop()
    finally:
        run_lab("cable", "torchio", "lan", "up")
        run_lab("bmc", "fiori", "up")
        run_lab("bmc", "torchio", "up")
    for node in ("fiori", "torchio"):
        assert missing_on(node, writer, acks) == [], f"{node} lost acknowledged writes"
    no_split_brain(fiori, torchio)
    # Both still run: nothing powered either off after the handlers ended.
    assert guest_pid(lab_guest("fiori")) is not None and guest_pid(lab_guest("torchio")) is not None
    assert bmc_actions()[earlier:] == []


@dataclass
class BothCut:
    """Both nodes lost power while the client wrote; torchio came back first and waits for fiori,
    which stays off. Two scenarios go on from here: fiori comes back, or it is gone for good. A
    third goes on from the moment before torchio came back: fiori comes back first."""

    writer: AckWriter
    acks: list[Ack]
    # The first scenario to use it goes on from the running lab; later ones load the snapshot.
    fresh: bool = True


BOTH_CUT = "both-cut"
BOTH_CUT_TORCHIO_WAITS = "both-cut-torchio-waits"


@pytest.fixture(scope="module")
def both_cut(converge: Run) -> BothCut:
    restore(CONVERGED)
    writer = AckWriter()
    writer.start()
    writer.wait_for_more(20)
    power_off("fiori", "torchio")
    acks = writer.stop()
    # Both nodes' disks as the cut left them (the client runs on).
    run_lab("snapshot", "save", BOTH_CUT)
    # The first node up cannot know whether its peer wrote after it went down: it waits.
    power_on("torchio")
    waits_for_its_peer(guest("torchio"))
    # fiori's disks as the cut left them are part of it (lab/machines.py: a guest powered off).
    run_lab("snapshot", "save", BOTH_CUT_TORCHIO_WAITS)
    return BothCut(writer, acks)


@pytest.fixture
def torchio_waits(both_cut: BothCut) -> BothCut:
    if not both_cut.fresh:
        restore(BOTH_CUT_TORCHIO_WAITS)
    both_cut.fresh = False
    return both_cut


def test_both_nodes_lose_power_at_once_and_torchio_comes_back_first(
    torchio_waits: BothCut, fiori: testinfra.host.Host, torchio: testinfra.host.Host
) -> None:
    power_on("fiori")
    in_service(fiori, torchio)
    for node in ("fiori", "torchio"):
        assert missing_on(node, torchio_waits.writer, torchio_waits.acks) == [], f"{node} lost acknowledged writes"
    no_split_brain(fiori, torchio)


@pytest.fixture
def both_off(both_cut: BothCut) -> BothCut:
    restore(BOTH_CUT)
    both_cut.fresh = False
    return both_cut


def test_both_nodes_lose_power_at_once_and_fiori_comes_back_first(
    both_off: BothCut, fiori: testinfra.host.Host, torchio: testinfra.host.Host
) -> None:
    writer, acks = both_off.writer, both_off.acks
    power_on("fiori")
    waits_for_its_peer(fiori)
    power_on("torchio")
    in_service(fiori, torchio)
    for node in ("fiori", "torchio"):
        assert missing_on(node, writer, acks) == [], f"{node} lost acknowledged writes"
    no_split_brain(fiori, torchio)


def test_a_peer_gone_for_good_is_replaced_only_by_an_explicit_promotion(
    torchio_waits: BothCut, fiori: testinfra.host.Host, torchio: testinfra.host.Host
) -> None:
    writer, before = torchio_waits.writer, torchio_waits.acks

    # fiori is gone for good. The plain deploy does not promote torchio; the preview of the way
    # out says what torchio holds, and changes nothing.
    promote = ("--limit", "torchio", "--data", "promote_alone=torchio")
    preview = run_pyinfra("--dry", *promote, LAB_INVENTORY, "deploy.py")
    assert preview.returncode == 0, preview.output[-4000:]
    planned = preview.planned_changes()
    assert planned.get("DRBD resources | torchio alone serves drbd0, its peer gone for good") == "1 (torchio)", planned
    assert "drbd1 on torchio: its Consistent copy becomes the pair's data" in preview.output, preview.output[-4000:]
    assert torchio.check_output("drbdadm role all").split() == ["Secondary/Unknown", "Secondary/Unknown"]

    promoted = run_pyinfra("-y", *promote, LAB_INVENTORY, "deploy.py")
    assert promoted.returncode == 0, promoted.output[-4000:]
    wait_for(torchio, MOUNTED, "2", timeout=300, every=3)
    wait_for(torchio, "systemctl is-active twinstore-storage nfs-server | sort -u", "active", timeout=300, every=3)
    # torchio serves alone: the client writes through it.
    alone = AckWriter(nodes=("torchio",))
    alone.start()
    alone.wait_for_more(10)
    after = alone.stop()

    # fiori comes back (it changed nothing since the cut): it resyncs from torchio, and the
    # explicit promotion is refused now that the peer can be reached.
    power_on("fiori")
    in_service(fiori, torchio)
    for node in ("fiori", "torchio"):
        assert missing_on(node, writer, before) == [], f"{node} lost acknowledged writes"
        assert missing_on(node, alone, after) == [], f"{node} lost acknowledged writes"
    refused = run_pyinfra("-y", *promote, LAB_INVENTORY, "deploy.py")
    assert refused.returncode == 2, refused.output[-3000:]
    assert "promote_alone=torchio: fiori can be reached" in refused.output
    no_split_brain(fiori, torchio)
