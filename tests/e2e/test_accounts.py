"""Pinned accounts on the lab: the same ids on both nodes, so both see the same owner on OCFS2."""

from __future__ import annotations

import testinfra

from tests.e2e.conftest import Run


def test_the_pinned_account_has_the_same_ids_and_owns_the_same_files_on_both_nodes(
    converge: Run, fiori: testinfra.host.Host, torchio: testinfra.host.Host
) -> None:
    for node in (fiori, torchio):
        assert node.check_output("getent passwd libvirt-qemu") == (
            "libvirt-qemu:x:64055:64055::/var/lib/libvirt:/usr/sbin/nologin"
        )
        assert node.check_output("getent group libvirt-qemu") == "libvirt-qemu:x:64055:"
    # The procedure's example: an image made on one node belongs to libvirt-qemu on both.
    fiori.check_output("install -o libvirt-qemu -g libvirt-qemu -m 600 /dev/null /vol/vmpool1/pinned.img && sync")
    try:
        for node in (fiori, torchio):
            owned = node.file("/vol/vmpool1/pinned.img")
            assert (owned.user, owned.group, owned.uid, owned.gid) == ("libvirt-qemu", "libvirt-qemu", 64055, 64055)
    finally:
        fiori.check_output("rm -f /vol/vmpool1/pinned.img")
