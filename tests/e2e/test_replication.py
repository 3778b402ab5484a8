"""The replication link moved to the back-to-back cable (the lab's eth2) and back, on the converged lab.

The move also applies new o2cb timeouts, as an administrator would group two changes that take
both nodes out of service into one maintenance window: each such cycle costs minutes under TCG.
The preview and refusal of a timeouts change alone are in test_ocfs2.py.
"""

from __future__ import annotations

import re
import time

import testinfra

from tests.e2e.conftest import (
    BACKLINK,
    BACKLINK_LINK,
    CONFIGURED_TIMEOUTS,
    LAB_INVENTORY,
    RUNNING_TIMEOUTS,
    SAVED,
    Run,
    backlink_window,
    run_lab,
    run_pyinfra,
)
from tests.e2e.faults import AckWriter, bmc_actions, longest_gap, measured, missing_on, no_split_brain

HEALTHY = "grep -c 'cs:Connected ro:Primary/Primary ds:UpToDate/UpToDate' /proc/drbd"
DRBD_ADDRESSES = "drbdsetup show | awk '$1 == \"address\" { print $3 }' | tr -d ';' | sort | tr '\\n' ' '"
O2CB_ADDRESSES = "cat /sys/kernel/config/cluster/ocfs2/node/*/ipv4_address | sort | tr '\\n' ' '"
CLIENT_MOUNT = "mountpoint -q /mnt/link-home || mount -t nfs -o nfsvers=3 192.168.1.6:/vol/home /mnt/link-home"
# Longer than the LAN pull that got torchio fenced in lan mode (45-51 s, tests/e2e/test_faults.py)
# and than o2net's idle timeout in the window's configuration (50 s).
LAN_PULLED_S = 60


def addresses(node: testinfra.host.Host) -> tuple[str, str]:
    return node.check_output(DRBD_ADDRESSES), node.check_output(O2CB_ADDRESSES)


def assert_in_service(node: testinfra.host.Host) -> None:
    assert node.check_output(HEALTHY) == "2", node.check_output("cat /proc/drbd")
    assert node.check_output("grep -c ' ocfs2 ' /proc/mounts") == "2"
    # exportfs -s prints a line per path and client (the lab's trusted client has its own).
    assert node.check_output("exportfs -s | awk '{ print $1 }' | sort -u | wc -l") == "5"
    assert node.check_output("systemctl is-active twinstore-storage.service") == "active"


def test_replication_moves_to_the_back_to_back_link_and_back_without_a_resync(
    converge: Run, fiori: testinfra.host.Host, torchio: testinfra.host.Host, client: testinfra.host.Host
) -> None:
    lan = {node: addresses(node) for node in (fiori, torchio)}
    assert lan[fiori] == (
        "192.168.1.6:7790 192.168.1.6:7791 192.168.1.7:7790 192.168.1.7:7791 ",
        "192.168.1.6 192.168.1.7 ",
    )
    fiori.check_output("head -c 1048576 /dev/urandom > /vol/mail/before-link-move && sync")
    checksum = fiori.check_output("sha256sum < /vol/mail/before-link-move")

    # 1. --dry shows the whole move on both nodes and changes nothing.
    dry = run_pyinfra("--dry", LAB_INVENTORY, "deploy.py", "--data", f"replication_link={BACKLINK_LINK}")
    assert dry.returncode == 0, dry.output[-4000:]
    planned = dry.planned_changes()
    for operation in (
        "Replication link | The peer answers on the back-to-back link",
        "Replication link | Move replication to the back-to-back link (10.99.0.6, 10.99.0.7): "
        "take the node out of service",
        "DRBD resources | DRBD resource drbd0",
        "OCFS2 cluster and file systems | o2cb cluster members",
        "Replication link: back in service | Bring the node back into service over the new link",
    ):
        assert planned.get(operation, "").startswith("2 (fiori, torchio)"), (operation, planned)
    assert (
        "drbd0 runs on 192.168.1.6:7790 to 192.168.1.7:7790, configured 10.99.0.6:7790 to 10.99.0.7:7790" in dry.output
    )
    assert {node: addresses(node) for node in (fiori, torchio)} == lan

    # 2. One node alone cannot move: both go out of service together. Refused, nothing touched.
    alone = run_pyinfra(
        "-y", "--limit", "fiori", LAB_INVENTORY, "deploy.py", "--data", f"replication_link={BACKLINK_LINK}"
    )
    assert alone.returncode == 2, alone.output[-3000:]
    assert "torchio is left out by --limit; run the deploy on both nodes of the pair" in alone.output
    assert addresses(fiori) == lan[fiori]
    assert_in_service(fiori)

    # 2b. A process on torchio holds a file on an OCFS2 volume: the volumes cannot be unmounted, so
    # the move is refused before anything changes, on both nodes (the run fails as a whole), and
    # says what holds the volume. Both nodes go on serving.
    holder = torchio.check_output("sleep 600 < /vol/mail/before-link-move >/dev/null 2>&1 & echo $!")
    try:
        held = run_pyinfra("-y", LAB_INVENTORY, "deploy.py", "--data", f"replication_link={BACKLINK_LINK}")
    finally:
        torchio.check_output(f"kill {holder}")
    assert held.returncode != 0, held.output[-4000:]
    assert "/vol/ocfs2-small is in use, so it cannot be unmounted for the move" in held.output, held.output[-4000:]
    assert re.search(rf"\b{holder}\b.*sleep", held.output), held.output[-4000:]
    for node in (fiori, torchio):
        assert addresses(node) == lan[node]
        assert_in_service(node)

    # 3. The move, with new o2cb timeouts in the same window: both nodes on 10.99.0.x with the new
    # timeouts, in service, no resync, the data and the client's mount intact.
    assert {node.check_output(RUNNING_TIMEOUTS) for node in (fiori, torchio)} == {CONFIGURED_TIMEOUTS}
    window = backlink_window()
    client.check_output(f"mkdir -p /mnt/link-home && {CLIENT_MOUNT}")
    log_lines = {node: int(node.check_output("dmesg | wc -l")) for node in (fiori, torchio)}
    moved = run_pyinfra("-y", LAB_INVENTORY, "deploy.py", *window)
    assert moved.returncode == 0, moved.output[-5000:]
    for node, own in ((fiori, "10.99.0.6"), (torchio, "10.99.0.7")):
        assert node.check_output(RUNNING_TIMEOUTS) == "61 50000 4000 3000 "
        assert "O2CB_IDLE_TIMEOUT_MS=50000" in node.file("/etc/default/o2cb").content_string
        assert addresses(node) == (
            "10.99.0.6:7790 10.99.0.6:7791 10.99.0.7:7790 10.99.0.7:7791 ",
            "10.99.0.6 10.99.0.7 ",
        )
        assert node.check_output(f"ip -o -4 addr show dev eth2 | grep -c 'inet {own}/24'") == "1"
        assert_in_service(node)
        kernel = node.check_output(f"dmesg | tail -n +{log_lines[node] + 1}")
        # Both resources reconnected from their bitmaps, never a full sync: at most the few blocks
        # one node wrote (unmounting) after its peer had already gone down (seen: 4 KiB).
        assert kernel.count("drbd_sync_handshake") == 2, kernel[-3000:]
        assert "full sync" not in kernel and "Writing the whole bitmap" not in kernel, kernel[-3000:]
        resynced = [int(kib) for kib in re.findall(r"Began resync as Sync\w+ \(will sync (\d+) KB", kernel)]
        assert all(kib <= 1024 for kib in resynced), kernel[-3000:]
        assert node.check_output("sha256sum < /vol/mail/before-link-move") == checksum
    # The NFS client's mount from before the move reads and writes again.
    client.check_output("echo after-move > /mnt/link-home/link-move && sync")
    assert torchio.check_output("cat /vol/home/link-move") == "after-move"
    # unison follows the link: the cron job's command syncs over it with its archive from before.
    assert "root = ssh://10.99.0.7//vol/rep-unison" in fiori.file("/root/.unison/vol-rep-unison.prf").content_string
    fiori.check_output("date > /vol/rep-unison/pub/link-move")
    sync = fiori.run("/usr/local/sbin/twinstore-unison-sync")
    assert sync.rc == 0, sync.stdout + sync.stderr
    assert torchio.check_output("cat /vol/rep-unison/pub/link-move") == fiori.check_output(
        "cat /vol/rep-unison/pub/link-move"
    )
    assert "No archive files were found" not in fiori.check_output("tail -n 20 /var/log/unison.log")

    # 4. Again with the same configuration: nothing to do.
    again = run_pyinfra("-y", LAB_INVENTORY, "deploy.py", *window)
    assert again.returncode == 0, again.output[-4000:]
    assert again.grand_total()["changed"] == "-", again.output[-4000:]
    # The pair in service on the back-to-back cable: the scenario that pulls it starts from here.
    run_lab("snapshot", "save", BACKLINK)
    SAVED.add(BACKLINK)

    # 4b. With DRBD and o2cb on the back-to-back cable, torchio's LAN cable pulled while the client
    # writes through both nodes costs the pair nothing: no fencing, no freeze; writes through fiori
    # go on, torchio's clients wait for their cable, and every acknowledged write is on both nodes.
    fenced_before = len(bmc_actions())
    handler_log = "journalctl -q -t twinstore-fence-peer --no-pager | wc -l"
    handler_lines = {node: node.check_output(handler_log) for node in (fiori, torchio)}
    writer = AckWriter()
    writer.start()
    writer.wait_for_more(6)
    cut = time.time()
    run_lab("cable", "torchio", "lan", "down")
    try:
        time.sleep(LAN_PULLED_S)
        for node in (fiori, torchio):
            # Both reached over the lab's management network.
            assert_in_service(node)
            # I/O not suspended (/proc/drbd's first flag: r running, s suspended).
            assert node.check_output("grep -c ' [ABC] s' /proc/drbd || true") == "0", node.check_output(
                "cat /proc/drbd"
            )
        during = writer.acked()
    finally:
        run_lab("cable", "torchio", "lan", "up")
    writer.wait_for_more(3, through="torchio")
    acks = writer.stop()
    through_fiori = [ack for ack in during if ack.mount == f"{writer.mounts['fiori']}/{writer.directory}"]
    stall = longest_gap(through_fiori, after=cut)
    measured("backlink mode, torchio's LAN pulled: longest wait for a write through fiori", f"{stall:.1f} s")
    assert through_fiori and stall < LAN_PULLED_S / 2, f"writes through fiori stalled {stall:.0f} s"
    assert bmc_actions()[fenced_before:] == []
    assert {node: node.check_output(handler_log) for node in (fiori, torchio)} == handler_lines
    for node in ("fiori", "torchio"):
        assert missing_on(node, writer, acks) == [], f"{node} lost acknowledged writes"
    no_split_brain(fiori, torchio)

    # The report against group_data flags the o2cb timeouts that run otherwise.
    report = run_pyinfra("-y", LAB_INVENTORY, "status.py")
    assert report.returncode != 0, report.output[-3000:]
    assert "fiori: o2cb runs with heartbeat_threshold 61, idle_timeout_ms 50000" in report.output, report.output[-3000:]

    # 5. The plain configuration (LAN, the configured timeouts) moves it back the same way.
    back = run_pyinfra("-y", LAB_INVENTORY, "deploy.py")
    assert back.returncode == 0, back.output[-5000:]
    for node in (fiori, torchio):
        assert addresses(node) == lan[node]
        assert node.check_output(RUNNING_TIMEOUTS) == CONFIGURED_TIMEOUTS
        assert_in_service(node)
    assert client.check_output("cat /mnt/link-home/link-move") == "after-move"
    client.check_output("umount /mnt/link-home")
    for node in (fiori, torchio):
        node.check_output("rm -f /vol/mail/before-link-move /vol/home/link-move /vol/rep-unison/pub/link-move")
