"""NFS on the converged lab: the client guest mounts the exports, and the storage nodes see its writes."""

from __future__ import annotations

import testinfra

from tests.e2e.conftest import Run


def test_exports_file_and_mountd_setting(converge: Run, fiori: testinfra.host.Host) -> None:
    exports = fiori.file("/etc/exports.d/twinstore.exports").content_string
    # Root squashed for the client network; the lab names its client guest as trusted.
    for path in ("/vol/pub", "/vol/home", "/vol/mail", "/vol/wikis", "/vol/svn"):
        trusted = "192.168.1.10(rw,sync,subtree_check,no_root_squash)"
        assert f"{path} {trusted} 192.168.1.0/24(rw,root_squash,sync,subtree_check)" in exports
    assert fiori.check_output("nfsconf --get mountd manage-gids") == "n"


def test_client_mounts_pub_and_home_and_both_storage_nodes_see_its_writes(
    converge: Run, client: testinfra.host.Host, fiori: testinfra.host.Host, torchio: testinfra.host.Host
) -> None:
    # The deploy installed the NFS client packages (group nfs_clients).
    assert client.package("nfs-common").is_installed
    client.check_output("mkdir -p /mnt/pub /mnt/home-fiori /mnt/home-torchio")
    options = "-o nfsvers=3,noatime,nodiratime"
    client.check_output(f"mountpoint -q /mnt/pub || mount -t nfs {options} 192.168.1.6:/vol/pub /mnt/pub")
    for name, address in (("fiori", "192.168.1.6"), ("torchio", "192.168.1.7")):
        client.check_output(
            f"mountpoint -q /mnt/home-{name} || mount -t nfs {options} {address}:/vol/home /mnt/home-{name}"
        )
    client.check_output("head -c 1048576 /dev/urandom > /mnt/home-torchio/from-client && sync")
    client.check_output("head -c 1048576 /dev/urandom > /mnt/pub/from-client && sync")
    written = client.check_output("sha256sum < /mnt/home-torchio/from-client")
    for node in (fiori, torchio):
        assert node.check_output("sha256sum < /vol/home/from-client") == written
    # Through the other node's export too: the same OCFS2 file system.
    assert client.check_output("sha256sum < /mnt/home-fiori/from-client") == written
    # rep-unison is not under DRBD: torchio sees pub's files after unison's run (issue 7).
    assert fiori.check_output("sha256sum < /vol/pub/from-client") == client.check_output(
        "sha256sum < /mnt/pub/from-client"
    )
    assert client.check_output("stat -c %U /mnt/home-fiori/from-client") == "root"
    for mount in ("/mnt/pub", "/mnt/home-fiori", "/mnt/home-torchio"):
        client.check_output(f"umount {mount}")


def test_root_on_a_host_not_named_trusted_is_squashed(
    converge: Run, fiori: testinfra.host.Host, torchio: testinfra.host.Host
) -> None:
    # fiori is on the client network but not named in no_root_squash_hosts: as an NFS client of
    # torchio, its root is nobody there and cannot write into root's directory.
    fiori.check_output("mkdir -p /mnt/untrusted && mount -t nfs -o nfsvers=3 192.168.1.7:/vol/home /mnt/untrusted")
    try:
        planted = fiori.run("touch /mnt/untrusted/planted-by-root")
        assert planted.rc != 0 and "Permission denied" in planted.stderr, planted
        assert fiori.check_output("stat -c %U /mnt/untrusted") == "root"
    finally:
        fiori.check_output("umount /mnt/untrusted")
    assert torchio.run("test -e /vol/home/planted-by-root").rc != 0
