"""Which Debian packages each kind of host needs (the deploy installs them; the lab's images may carry them)."""

from __future__ import annotations

from twinstore.config import StorageConfig
from twinstore.fence_agents import fence_agent_package
from twinstore.validation import NFS_CLIENT_GROUP, NIS_SERVER_GROUP, STORAGE_GROUP

STORAGE_PACKAGES = [
    "lvm2",
    # mkfs.ext4, resize2fs, e2label for the ext4 volumes: of priority "required" on Debian 12,
    # so always there, but not in Debian 13's minimal system.
    "e2fsprogs",
    # drbd8-utils is gone: drbd-utils (9.x userland) drives the 8.4 kernel module.
    "drbd-utils",
    "ocfs2-tools",
    "nfs-kernel-server",
    "unison",
    # The nightly sync's scheduler and its log rotation: not in a minimal Debian.
    "cron",
    "logrotate",
    # The node's own caching resolver (operations/names.py), and the root trust anchor it
    # copies at start without any network (a Recommends; no recommends are installed).
    "unbound",
    "dns-root-data",
    # fuser: what holds a volume that must be unmounted (operations/replication.py).
    "psmisc",
    # The packet filter (operations/firewall.py).
    "nftables",
    # systemd-run --pipe --wait talks to systemd over D-Bus: unison's confined server
    # (templates/unison/unison-server.sh.j2). A Recommends of systemd, so absent without them.
    "dbus",
    # Serves the pair's state to the site's monitoring (operations/metrics.py writes it).
    "prometheus-node-exporter",
    # Each node serves the site's NIS maps to itself, a slave of the NIS master, and binds to
    # itself (procedure: yp.conf "server localhost"; operations/nis.py).
    "ypserv",
    "ypbind-mt",
    "yp-tools",
]
# Only on storage nodes with a mail_relay (operations/mail.py); bsd-mailx is the `mail` that
# DRBD's notify scripts (split brain, out-of-sync blocks) send with.
MAIL_PACKAGES = ["postfix", "bsd-mailx"]
NIS_SERVER_PACKAGES = ["nis"]
# The procedure's NFS clients mount the storage's exports (NFSv3), found through NIS maps:
# ypbind and the yp tools only (the "nis" package would bring a server too), and autofs.
NFS_CLIENT_PACKAGES = ["nfs-common", "ypbind-mt", "yp-tools", "autofs"]


def packages_for(groups: list[str], storage: StorageConfig | None, release: int) -> list[str]:
    """Every package a host needs, for all the groups it is in.

    + groups: the host's inventory groups
    + storage: the pair's configuration, for a storage node (a mail relay, fence agents)
    + release: the host's Debian major version
    """
    packages = []
    if STORAGE_GROUP in groups and storage is not None:
        packages += STORAGE_PACKAGES
        for agent, tools in storage.fence_agents.items():
            packages += [fence_agent_package(agent, release), *tools]
        if storage.mail_relay is not None:
            packages += MAIL_PACKAGES
    if NIS_SERVER_GROUP in groups:
        packages += NIS_SERVER_PACKAGES
    if NFS_CLIENT_GROUP in groups:
        packages += NFS_CLIENT_PACKAGES
    # A host in several groups (the lab's client) installs each package once.
    return list(dict.fromkeys(packages))
