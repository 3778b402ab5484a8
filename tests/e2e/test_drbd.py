"""DRBD on the converged lab: zero resync on create, the resource files, a split brain refused.

Data across re-runs and reboots is checked through the file systems in test_ocfs2.py.
"""

from __future__ import annotations

import json
import re
import secrets
from pathlib import Path

import testinfra

from facts.replication import ReplicationLink
from operations.fencing import PROMOTE_ALONE_FLAG
from tests.e2e.conftest import LAB_INVENTORY, Run, run_pyinfra, smtp_sink, wait_for, wait_until
from tests.helpers import lab_storage_value

RESOURCES = ("drbd0", "drbd1")


def proc_drbd(node: testinfra.host.Host) -> str:
    return str(node.check_output("cat /proc/drbd"))


def test_new_pair_is_primary_primary_up_to_date_with_zero_resync(
    converge: Run, fiori: testinfra.host.Host, torchio: testinfra.host.Host
) -> None:
    # The converge also made OCFS2 on both devices, so the traffic counters (ns/nr) count
    # mkfs's replicated writes; a resync would show in the kernel log, and none may.
    for node in (fiori, torchio):
        state = proc_drbd(node)
        for minor in (0, 1):
            assert re.search(
                rf"^ {minor}: cs:Connected ro:Primary/Primary ds:UpToDate/UpToDate C", state, re.MULTILINE
            ), state
        assert re.findall(r"\boos:(\d+)", state) == ["0", "0"], state
        log = node.check_output("dmesg | grep -E 'drbd[01]' || true")
        assert "Began resync" not in log and "Resync done" not in log, log


def test_drbd_files_and_boot(converge: Run, fiori: testinfra.host.Host) -> None:
    common = fiori.file("/etc/drbd.d/global_common.conf").content_string
    # The lab's boot waits (lab/group_data/storage.py); the real ones are 120, 120 and 60.
    assert "wfc-timeout 10;" in common and "degr-wfc-timeout 10;" in common and "outdated-wfc-timeout 5;" in common
    assert "ping-int 30;" in common and "ping-timeout 60;" in common
    assert "fencing resource-and-stonith;" in common
    assert 'fence-peer "/usr/local/sbin/twinstore-fence-peer";' in common
    assert fiori.file("/usr/local/sbin/twinstore-fence-peer").mode == 0o755
    # The running resources use them (drbdadm adjust applied them).
    assert fiori.check_output("drbdsetup show drbd0 | grep -c 'fencing.*resource-and-stonith'") == "1"
    drbd0 = fiori.file("/etc/drbd.d/drbd0.res").content_string
    # The resource files hold the pair's shared secret: root's alone.
    for resource in RESOURCES:
        assert fiori.file(f"/etc/drbd.d/{resource}.res").mode == 0o600
    for line in (
        "protocol C;",
        "allow-two-primaries;",
        "after-sb-0pri discard-zero-changes;",
        # Not the procedure's discard-secondary: no split brain is resolved by throwing writes away.
        "after-sb-1pri consensus;",
        "after-sb-2pri disconnect;",
        "disk /dev/mapper/vg0-rep--drbd0;",
        "address 192.168.1.6:7790;",
        "address 192.168.1.7:7790;",
        "shared-secret",
    ):
        assert line in drbd0


def test_split_brain_is_refused_until_the_administrator_names_the_side_to_discard(
    converge: Run, fiori: testinfra.host.Host, torchio: testinfra.host.Host, client: testinfra.host.Host
) -> None:
    read = "dd if=/dev/drbd1 bs=1M count=4 skip=40 iflag=direct status=none | sha256sum"
    fiori.check_output("head -c 1048576 /dev/urandom > /vol/vmpool1/before-split && sync")
    kept = fiori.check_output("sha256sum < /vol/vmpool1/before-split")
    # OCFS2 must not see two diverging copies: take the volume out of use on both nodes, and
    # keep the 4 MiB the test overwrites so they can be put back for the file system.
    for node in (fiori, torchio):
        node.check_output("umount /vol/ocfs2-large")
    fiori.check_output("dd if=/dev/drbd1 of=/root/drbd1-region bs=1M count=4 skip=40 iflag=direct status=none")
    # Cut drbd1's link while both nodes are Primary and write on both sides: each now holds
    # changes the other lacks, and reconnecting detects the split brain (after-sb-2pri disconnect).
    # --force: with fencing, DRBD refuses a polite disconnect between two Primaries (neither may
    # be outdated), which is the point of fencing. A fencing pair never gets here by itself: each
    # node's fence-peer handler would power the other off. The administrator's promote_alone flag
    # (operations/fencing.py) makes each handler take its peer as outdated instead, as on a pair
    # without fencing (dual_primary_without_fencing), for this disconnect only.
    for node in (fiori, torchio):
        node.check_output(f"mkdir -p /run/twinstore && echo drbd1 > {PROMOTE_ALONE_FLAG}")
    torchio.check_output("drbdadm disconnect --force drbd1")
    for node in (fiori, torchio):
        wait_for(node, "drbdadm dstate drbd1", "UpToDate/Outdated")
        node.check_output(f"rm {PROMOTE_ALONE_FLAG}")
    for node in (fiori, torchio):
        node.check_output("dd if=/dev/urandom of=/dev/drbd1 bs=1M count=4 seek=40 oflag=direct status=none")
    before = {node.backend.hostname: node.check_output(read) for node in (fiori, torchio)}
    assert before["fiori"] != before["torchio"]
    relay = str(lab_storage_value("mail_relay"))
    with smtp_sink(client, relay) as received_so_far:
        torchio.check_output("drbdadm connect drbd1")
        # Both sides run the handshake, detect the split brain and drop the connection.
        for node in (torchio, fiori):
            wait_for(node, "drbdadm cstate drbd1", "StandAlone")
        assert torchio.run("dmesg | grep -q 'drbd1: Split-Brain detected'").rc == 0
        # DRBD's split-brain handler mails root, and root's mail leaves through the site's relay.
        for node in (fiori, torchio):
            node.check_output("postqueue -f")
        wait_until(lambda: "DRBD split brain on resource drbd1" in received_so_far(), timeout=120)

    # The health report shows it, with what each node changed since (out of sync on each side).
    status = run_pyinfra("-y", LAB_INVENTORY, "status.py")
    assert status.returncode != 0, status.output[-3000:]
    assert "reports a split brain" in status.output, status.output[-3000:]
    # From the kernel journal, each node's own report of it, once.
    assert re.search(r"(fiori|torchio): drbd1 had a split brain at .*, not resolved", status.output)
    # Outdated, not DUnknown: each Primary's fence-peer handler found its peer unreachable
    # (exit 5), and DRBD marks such a peer Outdated.
    assert (
        len(re.findall(r"StandAlone Primary/Unknown UpToDate/Outdated oos [1-9]\d* KiB, SPLIT BRAIN", status.output))
        == 2
    ), status.output[-3000:]

    refused = run_pyinfra("-y", LAB_INVENTORY, "deploy.py")
    assert refused.returncode == 2, refused.output[-3000:]
    # One problem that names what each node has, and how to resolve it.
    assert re.search(r"drbd1 on (fiori|torchio) is StandAlone and the kernel reported a split brain", refused.output), (
        refused.output[-3000:]
    )
    assert re.search(r"fiori: StandAlone Primary/\S+ UpToDate/Outdated, out of sync [1-9]", refused.output)
    assert re.search(r"torchio: StandAlone Primary/\S+ UpToDate/Outdated, out of sync [1-9]", refused.output)
    assert "twinstore never discards data by itself" in refused.output
    assert "--data split_brain_discard=NODE" in refused.output
    # Nothing was touched: both sides keep their own changes, and drbd0 is still healthy.
    assert {node.backend.hostname: node.check_output(read) for node in (fiori, torchio)} == before
    assert torchio.check_output("drbdadm cstate drbd1") == "StandAlone"
    assert "cs:Connected ro:Primary/Primary ds:UpToDate/UpToDate" in proc_drbd(torchio).splitlines()[2]

    # The administrator decides torchio's changes go. fiori's 4 MiB are the test's own damage
    # to the file system: put its region back on the side that is kept.
    fiori.check_output("dd if=/root/drbd1-region of=/dev/drbd1 bs=1M seek=40 oflag=direct status=none")
    kept_region = fiori.check_output(read)
    discard = ("--data", "split_brain_discard=torchio")
    preview = run_pyinfra("--dry", *discard, LAB_INVENTORY, "deploy.py")
    assert preview.returncode == 0, preview.output[-3000:]
    planned = preview.planned_changes()
    assert planned.get("DRBD resources | Discard torchio's changes to drbd1", "").startswith("1 ("), planned
    assert planned.get("DRBD resources | Reconnect drbd1, keeping fiori's data", "").startswith("1 ("), planned
    # The volume stays unmounted on the side whose changes go.
    assert "OCFS2 cluster and file systems | Mount /vol/ocfs2-large" in planned
    assert planned["OCFS2 cluster and file systems | Mount /vol/ocfs2-large"] == "1 (fiori)", planned
    assert torchio.check_output(read) == before["torchio"], "--dry discarded torchio's changes"
    assert torchio.check_output("drbdadm cstate drbd1") == "StandAlone"

    recovered = run_pyinfra("-y", *discard, LAB_INVENTORY, "deploy.py")
    assert recovered.returncode == 0, recovered.output[-3000:]
    assert "Discard torchio's changes to drbd1" in recovered.output
    wait_for(torchio, "drbdadm dstate drbd1", "UpToDate/UpToDate")
    resumed = run_pyinfra("-y", LAB_INVENTORY, "deploy.py")
    assert resumed.returncode == 0, resumed.output[-3000:]
    assert "Promote drbd1" in resumed.output
    # fiori's side won: torchio, Primary again, reads fiori's data where it wrote its own.
    assert torchio.check_output(read) == kept_region != before["torchio"]
    for node in (fiori, torchio):
        assert proc_drbd(node).count("cs:Connected ro:Primary/Primary ds:UpToDate/UpToDate") == 2
        # The deploy mounted the volume again, with its files intact.
        assert node.check_output("sha256sum < /vol/vmpool1/before-split") == kept
    # The recovery was a split brain too (solved by hand): reported by the next report, then not again.
    after = run_pyinfra("-y", LAB_INVENTORY, "status.py")
    assert "drbd1 had a split brain at" in after.output and "resolved by hand" in after.output, after.output[-3000:]
    assert "not resolved" not in after.output, "a split brain already reported was reported again"
    healthy = run_pyinfra("-y", LAB_INVENTORY, "status.py")
    assert healthy.returncode == 0, healthy.output[-3000:]


# Every file a deploy writes lives under these; -newer finds any written after a marker.
WRITTEN_BY_A_DEPLOY = "/etc /usr/local /var/lib/twinstore /root"


def secret_file(directory: Path, secret: str) -> Path:
    path = directory / "drbd-secret"
    path.write_text(secret + "\n")
    path.chmod(0o600)
    return path


def lab_secret() -> str:
    return Path(lab_storage_value("drbd_options")["shared_secret_file"]).read_text().strip()


def test_a_bad_secret_is_refused_before_any_host_is_touched_and_never_shown(
    converge: Run, fiori: testinfra.host.Host, torchio: testinfra.host.Host, tmp_path: Path
) -> None:
    options = lab_storage_value("drbd_options")
    secret = 'refused-"secret"-with-quotes'
    options["shared_secret_file"] = str(secret_file(tmp_path, secret))
    for node in (fiori, torchio):
        node.check_output("touch /run/twinstore-before-refused-run && sleep 1")
    refused = run_pyinfra("-y", "--data", f"drbd_options={json.dumps(options)}", LAB_INVENTORY, "deploy.py")
    assert refused.returncode == 2, refused.output[-3000:]
    # The file's path is named (shortened to 80 characters when long, as under a pytest worker's tmp_path).
    path = re.escape(options["shared_secret_file"][:40])
    assert re.search(rf"drbd_options\.shared_secret_file = '{path}\S*: the secret must be printable", refused.output), (
        refused.output[-3000:]
    )
    assert secret not in refused.output and "with-quotes" not in refused.output, refused.output[-3000:]
    for node in (fiori, torchio):
        written = node.check_output(
            f"find {WRITTEN_BY_A_DEPLOY} -xdev -newer /run/twinstore-before-refused-run -type f 2>/dev/null || true"
        )
        assert written == "", f"{node.backend.hostname}: the refused run wrote {written}"
        assert node.check_output("grep -c 'cs:Connected ro:Primary/Primary' /proc/drbd") == "2"


def test_the_secret_is_rotated_by_a_deploy_without_a_resync_and_never_shown(
    converge: Run, fiori: testinfra.host.Host, torchio: testinfra.host.Host, tmp_path: Path
) -> None:
    old = lab_secret()
    new = "rotated-" + secrets.token_urlsafe(24)
    options = lab_storage_value("drbd_options")
    options["shared_secret_file"] = str(secret_file(tmp_path, new))
    rotate = ("--data", f"drbd_options={json.dumps(options)}")
    preview = run_pyinfra("--dry", "--diff", *rotate, LAB_INVENTORY, "deploy.py")
    assert preview.returncode == 0, preview.output[-3000:]
    assert "Will modify /etc/drbd.d/drbd0.res: it holds a secret, so no diff is shown" in preview.output
    assert new not in preview.output and old not in preview.output
    for node in (fiori, torchio):
        node.check_output("dmesg -C")
    rotated = run_pyinfra("-y", "--diff", *rotate, LAB_INVENTORY, "deploy.py")
    assert rotated.returncode == 0, rotated.output[-3000:]
    assert new not in rotated.output and old not in rotated.output
    for node in (fiori, torchio):
        # Both nodes run with the new secret, still connected: nothing was resynced.
        for resource in RESOURCES:
            assert new in node.check_output(f"drbdsetup show {resource}")
            assert old not in node.file(f"/etc/drbd.d/{resource}.res").content_string
        assert proc_drbd(node).count("cs:Connected ro:Primary/Primary ds:UpToDate/UpToDate") == 2
        log = node.check_output("dmesg | grep -E 'drbd[01]' || true")
        assert "Began resync" not in log and "conn( Connected" not in log, log
    # Back to the lab's own secret, the same way.
    back = run_pyinfra("-y", LAB_INVENTORY, "deploy.py")
    assert back.returncode == 0, back.output[-3000:]
    for node in (fiori, torchio):
        assert old in node.check_output("drbdsetup show drbd0")
        assert proc_drbd(node).count("cs:Connected ro:Primary/Primary ds:UpToDate/UpToDate") == 2


def test_no_fact_carries_the_shared_secret(converge: Run, fiori: testinfra.host.Host) -> None:
    # The fact's own command, run on the lab: pyinfra prints fact output with -v.
    secret = lab_secret()
    assert secret in fiori.check_output("drbdsetup show drbd0"), "the running resource has no secret to hide"
    output = fiori.check_output(ReplicationLink().command().get_raw_value())
    assert "192.168.1.7:7790" in output and secret not in output and "shared-secret" not in output
