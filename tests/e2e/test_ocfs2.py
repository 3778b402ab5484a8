"""OCFS2 on the converged lab: shared files, the boot unit, reboots of one and of both nodes."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest
import testinfra

from tests.e2e.conftest import CONFIGURED_TIMEOUTS, LAB_INVENTORY, RUNNING_TIMEOUTS, Run, reboot, run_pyinfra, wait_for
from tests.e2e.faults import measured
from tests.helpers import lab_storage_value

VOLUMES = {"/dev/drbd0": "/vol/ocfs2-small", "/dev/drbd1": "/vol/ocfs2-large"}
OPTIONS = ("_netdev", "noatime", "nodiratime", "data=writeback", "commit=60")
HEALTHY = "grep -c 'cs:Connected ro:Primary/Primary ds:UpToDate/UpToDate' /proc/drbd"
MOUNTED = "grep -c ' ocfs2 ' /proc/mounts"
BOTH_REBOOT_TIMEOUT_S = 600
SITE_DOMAIN = lab_storage_value("nis_domain")


def test_cluster_online_with_the_procedures_settings(converge: Run, fiori: testinfra.host.Host) -> None:
    config = "/sys/kernel/config/cluster/ocfs2"
    assert fiori.check_output(f"cat {config}/heartbeat/dead_threshold") == "61"
    assert fiori.check_output(f"cat {config}/idle_timeout_ms") == "60000"
    assert fiori.check_output(f"ls {config}/node").split() == ["fiori", "torchio"]
    assert fiori.check_output(f"cat {config}/node/torchio/ipv4_address") == "192.168.1.7"


def test_both_volumes_mounted_on_both_nodes_with_the_procedures_options(
    converge: Run, fiori: testinfra.host.Host, torchio: testinfra.host.Host
) -> None:
    for node in (fiori, torchio):
        for device, mount_point in VOLUMES.items():
            mount = node.mount_point(mount_point)
            assert mount.exists and mount.device == device and mount.filesystem == "ocfs2"
            assert set(OPTIONS) <= set(mount.options), mount.options
        assert node.check_output("blkid -p -s LABEL -o value /dev/drbd1") == "ocfs2-large"
        for device in VOLUMES:
            # The procedure's max-features, less quota accounting (README, OCFS2 quota accounting).
            features = node.check_output(f"tunefs.ocfs2 -Q '%M %H %O' {device}").split()
            assert {"sparse", "inline-data", "metaecc", "xattr", "refcount", "unwritten"} <= set(features)
            assert "usrquota" not in features and "grpquota" not in features, features
        # The exported volume is mounted synchronously (nfsd's stable writes need it); the other not.
        assert "sync" in node.mount_point("/vol/ocfs2-small").options
        assert "sync" not in node.mount_point("/vol/ocfs2-large").options
        fstab = node.file("/etc/fstab").content_string
        assert (
            "/dev/drbd0 /vol/ocfs2-small ocfs2 _netdev,noauto,noatime,data=writeback,commit=60,nodiratime,sync 0 0"
            in fstab
        )
        assert (
            "/dev/drbd1 /vol/ocfs2-large ocfs2 _netdev,noauto,noatime,data=writeback,commit=60,nodiratime 0 0" in fstab
        )


def test_a_write_the_nfs_server_acknowledged_is_on_both_disks_at_once(
    converge: Run, fiori: testinfra.host.Host, torchio: testinfra.host.Host, client: testinfra.host.Host
) -> None:
    # A small write is one stable (FILE_SYNC) WRITE, which nfsd makes durable with RWF_SYNC; OCFS2
    # ignores that flag unless the volume is mounted sync. Read the blocks under the file system,
    # on each node's backing volume, right after the client's fsync returned.
    client.check_output(
        "mkdir -p /mnt/durable && (mountpoint -q /mnt/durable || "
        "mount -t nfs -o nfsvers=3 192.168.1.7:/vol/home /mnt/durable)"
    )
    try:
        written = client.check_output(
            'python3 -c "import os, hashlib; data = os.urandom(16384); '
            "fd = os.open('/mnt/durable/durable-probe', os.O_WRONLY | os.O_CREAT | os.O_TRUNC); "
            'os.write(fd, data); os.fsync(fd); os.close(fd); print(hashlib.sha256(data).hexdigest())"'
        )
        block = torchio.check_output("filefrag -v /vol/home/durable-probe | awk 'NR == 4 { print $4 }' | tr -d .")
        size = torchio.check_output("stat -f -c %S /vol/home/durable-probe")
        for node in (torchio, fiori):
            raw = node.check_output(
                f"dd if=/dev/mapper/vg0-rep--drbd0 bs={size} skip={block} count={16384 // int(size)} "
                "iflag=direct status=none | sha256sum | cut -d' ' -f1"
            )
            assert raw == written, f"{node.backend.hostname}: an acknowledged write is not on its disk yet"
    finally:
        client.check_output("rm -f /mnt/durable/durable-probe; umount /mnt/durable")


def test_file_written_on_either_node_is_read_on_the_other(
    converge: Run, fiori: testinfra.host.Host, torchio: testinfra.host.Host
) -> None:
    for writer, reader in ((fiori, torchio), (torchio, fiori)):
        name = f"/vol/home/from-{writer.backend.hostname}"
        writer.check_output(f"head -c 1048576 /dev/urandom > {name} && sync")
        assert reader.check_output(f"sha256sum < {name}") == writer.check_output(f"sha256sum < {name}")


def test_public_links_exactly_as_the_procedure_lists_them(converge: Run, torchio: testinfra.host.Host) -> None:
    links = {
        "/vol/scratch": "/vol/rep-no/scratch",
        "/vol/vmpool0": "/vol/rep-no/vmpool0",
        "/vol/pub": "/vol/rep-unison/pub",
        "/vol/home": "/vol/ocfs2-small/home",
        "/vol/mail": "/vol/ocfs2-small/mail",
        "/vol/wikis": "/vol/ocfs2-small/wikis",
        "/vol/svn": "/vol/ocfs2-small/svn",
        "/vol/vmpool1": "/vol/ocfs2-large/vmpool1",
    }
    for path, target in links.items():
        assert torchio.file(path).linked_to == target
        assert torchio.file(target).is_directory


def test_boot_unit_replaces_drbd_service_and_a_second_start_changes_nothing(
    converge: Run, fiori: testinfra.host.Host
) -> None:
    assert fiori.service("twinstore-storage").is_enabled
    assert fiori.service("twinstore-storage").is_running
    assert not fiori.service("drbd").is_enabled
    assert "become-primary-on both;" not in fiori.file("/etc/drbd.d/global_common.conf").content_string
    before = (fiori.check_output("grep ' ocfs2 ' /proc/mounts"), fiori.check_output("drbdadm role all"))
    again = fiori.run("/usr/local/sbin/twinstore-storage start")
    assert again.rc == 0, again.stderr
    assert "ERROR" not in again.stderr
    assert (fiori.check_output("grep ' ocfs2 ' /proc/mounts"), fiori.check_output("drbdadm role all")) == before


def test_a_start_interrupted_by_a_stop_leaves_the_peer_cleanly_and_no_one_is_fenced(
    converge: Run, fiori: testinfra.host.Host, torchio: testinfra.host.Host
) -> None:
    # systemd runs no ExecStop for a start it interrupts (a reboot while the node waits, resyncs
    # or mounts): without ExecStopPost, fiori stayed connected and Primary until its network went
    # down, and torchio froze I/O and fenced it (docs/measurements.md, twentieth session).
    since = torchio.check_output("date +%s")
    fiori.check_output("systemctl stop twinstore-storage.service")
    wait_for(torchio, "grep -c 'cs:WFConnection ro:Primary/Unknown' /proc/drbd", "2", timeout=60)
    torchio.check_output("head -c 1048576 /dev/urandom > /vol/ocfs2-large/while-fiori-was-out; sync")
    expected = torchio.check_output("sha256sum /vol/ocfs2-large/while-fiori-was-out")
    # The boot unit takes this lock before it mounts: held, its start stops there, connected and Primary.
    fiori.check_output("systemd-run --unit=twinstore-test-hold flock /run/twinstore/mount.lock sleep 600")
    try:
        fiori.check_output("systemctl start --no-block twinstore-storage.service")
        wait_for(fiori, HEALTHY, "2", timeout=180, every=2)
        assert fiori.check_output("systemctl is-active twinstore-storage.service || true") == "activating"
        fiori.check_output("systemctl stop twinstore-storage.service")
    finally:
        fiori.check_output("systemctl stop twinstore-test-hold.service || true")
    # fiori left as a stop leaves: its resources down; torchio waits for it, I/O not frozen, no fencing.
    assert fiori.check_output("grep -c ' cs:' /proc/drbd || true") == "0", fiori.check_output("cat /proc/drbd")
    serving_alone = "grep -Ec 'cs:WFConnection ro:Primary/Unknown ds:UpToDate/[A-Za-z]+ C r' /proc/drbd"
    assert torchio.check_output(serving_alone) == "2", torchio.check_output("cat /proc/drbd")
    fenced = torchio.check_output(f"journalctl -q --no-pager -t twinstore-fence-peer --since @{since} | wc -l")
    assert fenced == "0", torchio.check_output(f"journalctl -q --no-pager -t twinstore-fence-peer --since @{since}")
    said = fiori.check_output("journalctl -q --no-pager -u twinstore-storage.service -n 30")
    assert "the start was interrupted (SIGTERM)" in said, said

    fiori.check_output("systemctl start twinstore-storage.service")
    wait_for(fiori, HEALTHY, "2", timeout=180, every=2)
    wait_for(fiori, MOUNTED, "2", timeout=60)
    assert fiori.check_output("sha256sum /vol/ocfs2-large/while-fiori-was-out") == expected
    torchio.check_output("rm /vol/ocfs2-large/while-fiori-was-out")


def test_one_node_rebooted_while_the_other_keeps_writing_loses_nothing(
    converge: Run, fiori: testinfra.host.Host, torchio: testinfra.host.Host
) -> None:
    fiori.check_output("rm -rf /vol/home/writer /root/writer.*; mkdir /vol/home/writer")
    # One file every half second on fiori, for as long as torchio is away; each failure is logged.
    fiori.check_output(
        "nohup sh -c 'i=0; while [ ! -e /root/writer.stop ]; do i=$((i+1)); "
        "head -c 65536 /dev/urandom > /vol/home/writer/f$i || echo $i >> /root/writer.errors; "
        "echo $i > /root/writer.count; sleep 0.5; done' >/dev/null 2>&1 &"
    )
    reboot("torchio")
    wait_for(torchio, HEALTHY, "2", timeout=300, every=3)
    wait_for(torchio, MOUNTED, "2", timeout=120, every=3)
    fiori.check_output("touch /root/writer.stop; sleep 2; sync")
    written = int(fiori.check_output("cat /root/writer.count"))
    assert written > 20, "the writer on fiori stalled while torchio rebooted"
    assert fiori.run("test -e /root/writer.errors").rc == 1, fiori.check_output("cat /root/writer.errors")
    listing = "cd /vol/home/writer && ls | wc -l && sha256sum $(ls | sort -V) | sha256sum"
    assert fiori.check_output(listing).splitlines()[0] == str(written)
    assert torchio.check_output(listing) == fiori.check_output(listing)
    assert torchio.service("twinstore-storage").is_running


@pytest.fixture
def site_servers_down(client: testinfra.host.Host) -> Iterator[None]:
    """The site's NIS master and the lab's DNS root, both on the client guest, stopped for the test."""
    client.check_output("systemctl stop ypserv.service unbound.service")
    try:
        yield
    finally:
        client.check_output("systemctl start ypserv.service unbound.service")


def test_both_nodes_rebooted_together_come_back_in_service(
    converge: Run, site_servers_down: None, fiori: testinfra.host.Host, torchio: testinfra.host.Host
) -> None:
    """With the NIS master and every DNS server down: the pair may carry the VMs that serve them."""
    fiori.check_output("head -c 1048576 /dev/urandom > /vol/mail/before-reboot && sync")
    checksum = fiori.check_output("sha256sum < /vol/mail/before-reboot")
    maps = {node: node.check_output(f"ypcat -d {SITE_DOMAIN} -k auto.home") for node in (fiori, torchio)}
    assert maps[fiori] and maps[fiori] == maps[torchio]
    # Both shut down at once, so each node's OCFS2 unmount may wait on the other's o2cb
    # timeouts: allow more than a single reboot.
    reboot("fiori", "torchio", timeout=BOTH_REBOOT_TIMEOUT_S)
    for node in (fiori, torchio):
        wait_for(node, HEALTHY, "2", timeout=300, every=3)
        wait_for(node, MOUNTED, "2", timeout=120, every=3)
        # The boot unit exports after it mounts: in service once it and the NFS server are active.
        wait_for(node, "systemctl is-active twinstore-storage nfs-server | sort -u", "active", timeout=120, every=3)
        exports = node.check_output("exportfs -s")
        for real in ("/vol/rep-unison/pub", "/vol/ocfs2-small/home", "/vol/ocfs2-small/svn"):
            assert re.search(rf"^{re.escape(real)}\s+192\.168\.1\.0/24\(", exports, re.MULTILINE), exports
        assert node.check_output("sha256sum < /vol/mail/before-reboot") == checksum
        assert node.run("systemctl is-failed --quiet twinstore-storage").rc != 0
        # nftables.service loaded the packet filter at boot, and the pair reconnected through it.
        assert "policy drop" in node.check_output("nft list table inet twinstore")
    # No DNS server answers (the lab's root is stopped): the boot did not wait on one. The local
    # resolver started at once, with the trust anchor from dns-root-data and no network
    # (nss-lookup.target, which rpc-statd and postfix wait for, was reached), and each node names
    # its peer from /etc/hosts.
    for node, peer, address in ((fiori, "torchio", "192.168.1.7"), (torchio, "fiori", "192.168.1.6")):
        assert node.check_output("systemctl is-active unbound.service nss-lookup.target | sort -u") == "active"
        assert node.check_output("systemctl show -p NRestarts --value unbound.service") == "0"
        assert node.check_output(f"getent hosts {peer}").split() == [address, peer]
    # The NIS master is down: each node bound to its own NIS server at once (procedure row 62,
    # yp.conf "server localhost") and serves the maps it copied before.
    for node in (fiori, torchio):
        assert node.check_output("systemctl is-active ypserv.service ypbind.service | sort -u") == "active"
        assert node.check_output(f"ypwhich -d {SITE_DOMAIN}") in ("localhost", "127.0.0.1")
        assert node.check_output(f"ypcat -d {SITE_DOMAIN} -k auto.home") == maps[node]
        bind = ypbind_start_seconds(node)
        measured(f"{node.backend.hostname}: ypbind bound with the NIS master down", f"{bind:.1f} s")
        assert bind < 5, f"ypbind took {bind:.1f} s to bind with the NIS master down"


def ypbind_start_seconds(node: testinfra.host.Host) -> float:
    """How long ypbind's start took at the last boot (it returns once bound)."""
    values = dict(
        line.split("=", 1)
        for line in node.check_output(
            "systemctl show -p InactiveExitTimestampMonotonic -p ActiveEnterTimestampMonotonic ypbind.service"
        ).splitlines()
    )
    return (int(values["ActiveEnterTimestampMonotonic"]) - int(values["InactiveExitTimestampMonotonic"])) / 1e6


def test_new_o2cb_timeouts_are_previewed_on_both_nodes_and_refused_on_one(
    converge: Run, fiori: testinfra.host.Host, torchio: testinfra.host.Host
) -> None:
    """A change of o2cb timeouts alone: its preview and its refusal for one node. Applying such a
    change, the report until then and the way back run in test_replication.py, in the same
    out-of-service window as the link move (each window costs minutes under TCG)."""
    assert {node.check_output(RUNNING_TIMEOUTS) for node in (fiori, torchio)} == {CONFIGURED_TIMEOUTS}
    cluster = lab_storage_value("ocfs2_cluster")
    changed = json.dumps({**cluster, "idle_timeout_ms": 50000, "reconnect_delay_ms": 3000})
    new_timeouts = ("--data", f"ocfs2_cluster={changed}")

    # The preview names the step on both nodes; one node alone is refused. Nothing changes.
    preview = run_pyinfra("--dry", LAB_INVENTORY, "deploy.py", *new_timeouts)
    assert preview.returncode == 0, preview.output[-4000:]
    planned = preview.planned_changes()
    title = "Apply the configured o2cb timeouts (idle_timeout_ms 60000 -> 50000, reconnect_delay_ms 4000 -> 3000)"
    for operation in (
        f"Replication link | {title}: take the node out of service",
        "OCFS2 cluster and file systems | o2cb start at boot and timeouts",
        "Replication link: back in service | Bring the node back into service with the new o2cb timeouts",
    ):
        assert planned.get(operation, "").startswith("2 (fiori, torchio)"), (operation, planned)
    alone = run_pyinfra("-y", "--limit", "fiori", LAB_INVENTORY, "deploy.py", *new_timeouts)
    assert alone.returncode == 2, alone.output[-3000:]
    assert "ocfs2_cluster.idle_timeout_ms = 50000: applying new o2cb timeouts takes both nodes" in alone.output
    assert {node.check_output(RUNNING_TIMEOUTS) for node in (fiori, torchio)} == {CONFIGURED_TIMEOUTS}
