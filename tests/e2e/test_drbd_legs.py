"""One-legged start, the refusals around it, and a replaced node joining as the second leg.

fiori's data disk is blanked (its packages stay installed); torchio is replaced while fiori
starts alone: a fresh guest with a blank data disk and a new host key, as after a lost machine.
fiori serves an NFS client that keeps writing while torchio is rebuilt with --limit and fully
synced. Starts from the converged snapshot, after the other scenarios of its lab (tests/conftest.py).
"""

from __future__ import annotations

import json
import re

import pytest
import testinfra

from tests.e2e.conftest import (
    LAB_INVENTORY,
    Run,
    lab_in_background,
    run_lab,
    run_pyinfra,
    wait_for,
    wait_until,
    wipe_storage_data,
)
from tests.helpers import lab_storage_value

pytestmark = pytest.mark.lab_rebuild

# The scenario does not depend on the volumes' sizes, and a second leg resyncs every byte of them
# (3.1 GiB with the lab's sizes, minutes under TCG): every run of it uses 256 MiB DRBD volumes,
# and -T mail for ocfs2-large (-T vmstore needs 2 GiB). The rest of the configuration is the lab's.
SMALL_DRBD = 256
_volumes = lab_storage_value("logical_volumes")
_volumes["rep-drbd0"]["size"] = _volumes["rep-drbd1"]["size"] = f"{SMALL_DRBD}M"
_ocfs2 = lab_storage_value("ocfs2_volumes")
_ocfs2["ocfs2-large"]["fs_type"] = "mail"
SMALL = ("--data", f"logical_volumes={json.dumps(_volumes)}", "--data", f"ocfs2_volumes={json.dumps(_ocfs2)}")


def deploy(*args: str) -> Run:
    """The deploy as the scenario runs it: with the small volumes."""
    return run_pyinfra(*args, *SMALL, LAB_INVENTORY, "deploy.py")


# 512 MiB at 2.6 MB/s, the slowest sync a CI run showed, takes under 4 minutes.
SYNC_TIMEOUT_S = 600
READ = "sha256sum < {}/first-leg"
VOLUMES = ("/vol/ocfs2-small", "/vol/ocfs2-large")
# One 64 KiB file every half second through fiori's export, for as long as torchio is rebuilt.
CLIENT_WRITER = (
    "nohup sh -c 'i=0; while [ ! -e /root/legs-writer.stop ]; do i=$((i+1)); "
    "head -c 65536 /dev/urandom > /mnt/legs/writer/f$i || echo $i >> /root/legs-writer.errors; "
    "echo $i > /root/legs-writer.count; sleep 0.5; done' >/dev/null 2>&1 &"
)
LISTING = "cd {} && ls | wc -l && sha256sum $(ls | sort -V) | sha256sum"


def test_one_legged_start_then_a_replaced_node_joins_while_a_client_writes(
    converged_lab: None, fiori: testinfra.host.Host, torchio: testinfra.host.Host, client: testinfra.host.Host
) -> None:
    # From the converged lab, not from whatever the tests before it left on the nodes' root disks
    # (unison's archives, which step 8 counts).
    wipe_storage_data("fiori", "torchio")

    # 1. Only fiori targeted, both nodes new, no node named: refused, nothing touched.
    refused = deploy("-y", "--limit", "fiori")
    assert refused.returncode == 2, refused.output[-3000:]
    assert "both nodes are new" in refused.output
    assert "--limit fiori --data first_leg=fiori" in refused.output
    assert fiori.run("blkid -p /dev/vdb").rc == 2, "the refused run changed the data disk"

    # 2. The user names the first leg: fiori starts alone, Primary and UpToDate. Meanwhile torchio
    # is replaced by a fresh guest (new host key, blank disks), as after a lost machine: its boot
    # takes about as long as fiori's run, which reads it only if it answers.
    with lab_in_background("reset", "torchio"):
        first = deploy("-y", "--limit", "fiori", "--data", "first_leg=fiori")
    assert first.returncode == 0, first.output[-4000:]
    state = fiori.check_output("cat /proc/drbd")
    for minor in (0, 1):
        # Outdated: promoted without its peer, fiori's fence-peer handler found it unreachable.
        assert re.search(rf"^ {minor}: cs:WFConnection ro:Primary/Unknown ds:UpToDate/Outdated", state, re.MULTILINE), (
            state
        )
    # The one leg is in service on its own: OCFS2 made and mounted, the boot unit active.
    for mount_point in VOLUMES:
        assert fiori.mount_point(mount_point).filesystem == "ocfs2"
        fiori.check_output(f"head -c 16777216 /dev/urandom > {mount_point}/first-leg && sync")
    assert fiori.service("twinstore-storage").is_running
    written = {point: fiori.check_output(READ.format(point)) for point in VOLUMES}
    # The surviving node serves: a client writes through its export from now until torchio is back.
    client.check_output(
        "umount -q /mnt/legs 2>/dev/null; rm -f /root/legs-writer.*; mkdir -p /mnt/legs"
        " && mount -t nfs -o nfsvers=3,hard 192.168.1.6:/vol/home /mnt/legs && mkdir -p /mnt/legs/writer"
    )
    client.check_output(CLIENT_WRITER)
    fiori.check_output("echo from-fiori > /vol/rep-unison/pub/before-rebuild")

    # 3. torchio's drbd1 backing volume holds a filesystem with a file in it: create-md is refused.
    torchio.check_output(
        "apt-get install -q -y --no-install-recommends lvm2 >/dev/null"
        " && pvcreate -q /dev/vdb && vgcreate -q vg0 /dev/vdb"
        f" && lvcreate -q -y -n rep-drbd1 -L {SMALL_DRBD}M vg0 && mkfs.ext4 -q /dev/vg0/rep-drbd1"
        " && mount /dev/vg0/rep-drbd1 /mnt && echo precious > /mnt/keep && umount /mnt"
    )
    blocked = deploy("-y", "--limit", "torchio")
    assert blocked.returncode == 2, blocked.output[-3000:]
    assert "drbd1 on torchio: the backing volume holds ext4" in blocked.output
    assert torchio.check_output("mount -o ro /dev/vg0/rep-drbd1 /mnt && cat /mnt/keep; umount /mnt") == "precious"

    # 4. The administrator decides that data is not needed. wipefs alone leaves the rest of
    # the filesystem behind: still refused, with the command that clears what drbdmeta checks.
    torchio.check_output("wipefs -q -a /dev/vg0/rep-drbd1")
    wiped = deploy("-y", "--limit", "torchio")
    assert wiped.returncode == 2, wiped.output[-3000:]
    assert "first 68 KiB are not zero" in wiped.output, wiped.output[-3000:]
    zero = re.search(r"\((dd if=/dev/zero of=/dev/mapper/vg0-rep--drbd1 [^)]*)\)", wiped.output)
    assert zero, wiped.output[-3000:]
    torchio.check_output(zero.group(1))

    # 5. Now the join creates metadata and starts the full sync from fiori. fiori holds the sync
    # paused (DRBD keeps the flag until resume-sync) so that step 6 runs during it whatever the
    # machine's speed: at 40 MiB/s the 256 MiB of drbd0 could finish before the next run reads it.
    fiori.check_output("drbdadm pause-sync all")
    join = deploy("-y", "--limit", "torchio")
    assert join.returncode == 0, join.output[-4000:]
    assert "Create metadata for drbd0" in join.output and "Promote" not in join.output

    # 6. A re-run during the sync changes nothing and says how far the sync is.
    during = deploy("-y", "--limit", "torchio")
    assert during.returncode == 0, during.output[-4000:]
    assert during.grand_total()["changed"] == "-", during.output[-4000:]
    for resource in ("drbd0", "drbd1"):
        assert re.search(
            # A paused sync shows no percentage in /proc/drbd; the amount still out of sync says how far it is.
            rf"{resource} on torchio: PausedSyncT Secondary/Primary Inconsistent/UpToDate, out of sync \d+ KiB",
            during.output,
        ), during.output[-4000:]

    # 6b. fiori hangs mid-sync (frozen, unreachable): torchio keeps a partial copy, Inconsistent
    # and alone. It is refused, and nothing suggests starting it as a first leg, not even when asked.
    run_lab("freeze", "fiori")
    try:
        wait_for(torchio, "drbdadm cstate drbd0", "WFConnection", timeout=120, every=3)
        assert torchio.check_output("drbdadm dstate drbd0") == "Inconsistent/DUnknown"
        partial = deploy("-y", "--limit", "torchio")
        assert partial.returncode == 2, partial.output[-3000:]
        assert "drbd0 on torchio holds a partial copy" in partial.output, partial.output[-3000:]
        assert "first_leg" not in partial.output, partial.output[-3000:]
        forced = deploy("-y", "--limit", "torchio", "--data", "first_leg=torchio")
        assert forced.returncode == 2, forced.output[-3000:]
        assert "first_leg = " in forced.output and "holds a partial copy" in forced.output, forced.output[-3000:]
        assert torchio.check_output("drbdadm role drbd0") == "Secondary/Unknown"
    finally:
        run_lab("thaw", "fiori")
    # fiori is back: the sync picks up where it stopped, paused or not (DRBD keeps fiori's pause
    # flag across the reconnect; a resume of a resync that is not paused is refused, harmlessly).
    wait_until(lambda: torchio.check_output("drbdadm cstate drbd0") in ("PausedSyncT", "SyncTarget"), timeout=180)
    fiori.run("drbdadm resume-sync all")

    # 7. After the sync the next run promotes torchio; both hold fiori's data.
    try:
        wait_for(torchio, "drbdadm dstate all", "UpToDate/UpToDate\nUpToDate/UpToDate", timeout=SYNC_TIMEOUT_S, every=5)
    except AssertionError as slow:
        # What the sync source did meanwhile: throttling, stalls, reconnects.
        source = fiori.run("cat /proc/loadavg; cat /proc/drbd; dmesg | grep -i drbd | tail -n 30").stdout
        raise AssertionError(f"{slow}\nfiori:\n{source}") from None
    promote = deploy("-y", "--limit", "torchio")
    assert promote.returncode == 0, promote.output[-4000:]
    for node in (fiori, torchio):
        state = node.check_output("cat /proc/drbd")
        assert state.count("cs:Connected ro:Primary/Primary ds:UpToDate/UpToDate") == 2, state
    # The promoting run also mounted the volumes on torchio, which reads fiori's files.
    for mount_point, checksum in written.items():
        assert torchio.check_output(READ.format(mount_point)) == checksum

    # The client wrote all along, without an error, and torchio holds every file it wrote.
    client.check_output("touch /root/legs-writer.stop; sleep 2; sync")
    count = int(client.check_output("cat /root/legs-writer.count"))
    assert count > 20, "the client's writes through fiori stalled while torchio was rebuilt"
    assert client.run("test -e /root/legs-writer.errors").rc == 1, client.check_output("cat /root/legs-writer.errors")
    seen_by_client = client.check_output(LISTING.format("/mnt/legs/writer"))
    assert seen_by_client.splitlines()[0] == str(count)
    assert torchio.check_output(LISTING.format("/vol/home/writer")) == seen_by_client
    client.check_output("umount /mnt/legs")

    # 8. The first run of the whole pair: fiori pins torchio's new host key, and unison, whose
    # archive torchio lost, sets fiori's aside and starts again with a first sync (a union).
    full = deploy("-y")
    assert full.returncode == 0, full.output[-4000:]
    assert "torchio has no archive (rebuilt)" in full.output, full.output[-4000:]
    assert torchio.check_output("cat /vol/rep-unison/pub/before-rebuild") == "from-fiori"
    assert fiori.check_output("ls /root/.unison/before-rebuild-of-torchio | grep -c '^ar'") == "1"
    sync = fiori.run("/usr/local/sbin/twinstore-unison-sync")
    assert sync.rc == 0, sync.stdout + sync.stderr

    # 9. The pair is converged: a full run changes nothing.
    again = deploy("-y")
    assert again.returncode == 0, again.output[-4000:]
    assert again.grand_total()["changed"] == "-", again.output[-4000:]
    fiori.check_output("rm -rf /vol/home/writer /vol/rep-unison/pub/before-rebuild")
