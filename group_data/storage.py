"""The storage pair fiori + torchio, with the original procedure's values.

A second pair is another inventory group (say ``pair_b``) whose group_data file sets at
least ``nodes`` (and ``drbd_options.shared_secret_file``); everything else is inherited from here.
"""

from twinstore.config import DEMOTE_PRIMARY_RESYNC_TARGET as _DEMOTE_PRIMARY_RESYNC_TARGET


def _bmc(address: str, node: str) -> dict[str, object]:
    # The node's BMC over IPMI (fence_ipmilan), on the management network: not the replication
    # link, which is what fails. Replace the addresses with this site's; the password is read
    # from a file on the machine that runs pyinfra, outside this repository, mode 0600.
    return {
        "agent": "fence_ipmilan",
        "options": {"ip": address, "username": "twinstore", "lanplus": "1"},
        "password_file": f"/etc/twinstore/{node}-bmc.password",
    }


# fence: the node's power control, which its peer uses to power it off when the replication
# link fails while both serve (README, "Fencing"). In an even split the node with the lower
# o2cb_number fences at once, the other after fencing["delay_seconds"].
nodes = [
    {
        "name": "fiori",
        "lan_address": "192.168.1.6",
        "link_address": "10.99.0.6",
        "o2cb_number": 1,
        "fence": _bmc("192.168.1.106", "fiori"),
    },
    {
        "name": "torchio",
        "lan_address": "192.168.1.7",
        "link_address": "10.99.0.7",
        "o2cb_number": 2,
        "fence": _bmc("192.168.1.107", "torchio"),
    },
]
fencing = {"delay_seconds": 20, "agent_timeout_seconds": 40}

# "lan": DRBD and o2cb use lan_address (as first built); "backlink": link_address on the
# back-to-back cable, configured on `interface`.
replication_link = {"mode": "lan", "interface": "eth1", "prefix_length": 24}

# devices empty: vg0 already exists (the installer's partman recipe made it).
volume_group = {"name": "vg0", "devices": []}

logical_volumes = {
    "rep-no": {"size": "100G", "role": "ext4", "mount_point": "/vol/rep-no"},
    "rep-drbd0": {"size": "200G", "role": "drbd"},
    "rep-drbd1": {"size": "200G", "role": "drbd"},
    "rep-unison": {"size": "2T", "role": "unison", "mount_point": "/vol/rep-unison"},
}
ext4_mount_options = ["noatime", "nodiratime"]

drbd_resources = {
    "drbd0": {"minor": 0, "port": 7790, "backing_volume": "rep-drbd0"},
    "drbd1": {"minor": 1, "port": 7791, "backing_volume": "rep-drbd1"},
}
drbd_options = {
    "protocol": "C",
    "allow_two_primaries": True,
    # A split brain is resolved automatically only when one side wrote nothing since it (no
    # write is lost); otherwise both sides stay StandAlone until a person names the side whose
    # changes go (--data split_brain_discard=NODE). The procedure's after-sb-1pri
    # discard-secondary threw away the Secondary's writes silently (docs/procedure-map.md).
    "after_sb_0pri": "discard-zero-changes",
    "after_sb_1pri": "consensus",
    "after_sb_2pri": "disconnect",
    # The procedure's "/sbin/drbdsetup $DRBD_MINOR secondary", applied to a Primary only:
    # demoting a node that is already Secondary races the boot-time promotion and drops the
    # connection (see twinstore/config.py).
    "before_resync_target_handler": _DEMOTE_PRIMARY_RESYNC_TARGET,
    "split_brain_handler": "/usr/lib/drbd/notify-split-brain.sh root",
    # The Powerline workaround: wait 120 s for the peer at boot, ping every 30 s and
    # allow 6 s (60 tenths) for the answer. A node whose copy may be older than its peer's
    # keeps waiting after that: DRBD refuses to promote it alone (twinstore-storage.service).
    "wfc_timeout": 120,
    "degr_wfc_timeout": 120,
    "outdated_wfc_timeout": 60,
    "ping_int": 30,
    "ping_timeout_tenths": 60,
    "cram_hmac_alg": "sha256",
    # Peer authentication: a file on the machine that runs pyinfra, outside this repository,
    # mode 0600, holding one line of 20-64 random characters (README, "Using it on real
    # machines"). Each pair has its own.
    "shared_secret_file": "/etc/twinstore/drbd-pair-a.secret",
}

ocfs2_cluster = {
    "name": "ocfs2",
    "port": 7777,
    "heartbeat_threshold": 61,
    "idle_timeout_ms": 60000,
    "keepalive_delay_ms": 4000,
    "reconnect_delay_ms": 4000,
}
ocfs2_volumes = {
    "ocfs2-small": {
        "drbd_resource": "drbd0",
        "mount_point": "/vol/ocfs2-small",
        "fs_type": "mail",
        "slots": 2,
        "label": "ocfs2-small",
    },
    "ocfs2-large": {
        "drbd_resource": "drbd1",
        "mount_point": "/vol/ocfs2-large",
        "fs_type": "vmstore",
        "slots": 2,
        "label": "ocfs2-large",
    },
}
ocfs2_mount_options = ["_netdev", "noatime", "data=writeback", "commit=60", "nodiratime"]

public_links = [
    {"path": "/vol/scratch", "target": "/vol/rep-no/scratch"},
    {"path": "/vol/vmpool0", "target": "/vol/rep-no/vmpool0"},
    {"path": "/vol/pub", "target": "/vol/rep-unison/pub"},
    {"path": "/vol/home", "target": "/vol/ocfs2-small/home"},
    {"path": "/vol/mail", "target": "/vol/ocfs2-small/mail"},
    {"path": "/vol/wikis", "target": "/vol/ocfs2-small/wikis"},
    {"path": "/vol/svn", "target": "/vol/ocfs2-small/svn"},
    {"path": "/vol/vmpool1", "target": "/vol/ocfs2-large/vmpool1"},
]

# clients empty = all.py client_network.
nfs_exports = [
    {"path": "/vol/pub"},
    {"path": "/vol/home"},
    {"path": "/vol/mail"},
    {"path": "/vol/wikis"},
    {"path": "/vol/svn"},
]

unison = {
    "volume": "rep-unison",
    "client": "fiori",
    "schedule": "0 0 * * *",
    "profile_name": "vol-rep-unison",
    "owner": True,
    "group": True,
    "perms": -1,
    "times": True,
    "auto": True,
    "batch": True,
    "terse": True,
    "confirmbigdel": True,
    "fastcheck": True,
    "prefer": "newer",
    "log_file": "/var/log/unison.log",
    "log_retention_days": 28,
    # Not in the procedure: a sync that would delete more than half of either copy stops and
    # says how to let it through (twinstore-unison-sync --accept-deletions).
    "max_deleted_percent": 50,
    # status.py reports the sync as stale when it last ran longer ago than this.
    "max_age_hours": 26,
}

# Created before any package so both OCFS2 nodes agree on file ownership.
accounts = [{"name": "libvirt-qemu", "uid": 64055, "gid": 64055, "home": "/var/lib/libvirt"}]

# Each node's caching resolver (127.0.0.1) resolves from the root servers itself and validates
# with the root's key: no DNS server of the site is in the way of the pair's boot. Forwarders
# only as an explicit choice, e.g. "upstreams": ["192.168.1.1"]; a network with its own root:
# "root_servers": [...] with "dnssec": False.
resolver = {"upstreams": [], "root_servers": [], "dnssec": True}
extra_hosts: dict[str, str] = {}
# Postfix relays to this address; None = no relay configured, postfix left alone.
mail_relay = None
# /etc/apt/sources.list by IP address of the install server, e.g.
#   [{"uri": "http://192.168.1.2/debian"},
#    {"uri": "http://192.168.1.2/debian-security", "suites": ["trixie-security"]}]
# Suites default to each node's own release and its updates (trixie, trixie-updates on Debian
# 13), components to main and non-free-firmware. Empty = keep the machine's own sources.
apt_sources: list[dict[str, object]] = []
# The servers that /etc/apt/sources.list.d/*.list and *.sources name (and sources.list when
# apt_sources is empty), by address, e.g. {"deb.example.net": "192.168.1.2"}: each file is
# rewritten to the address. With apt_sources or this set, a file naming any other server stops
# the deploy (apt would need DNS for it). Empty with apt_sources empty = the files are left alone.
apt_addresses: dict[str, str] = {}

sysctls = {
    # BTS#666021
    "vm.min_free_kbytes": 65536,
    # Reboot 10 s after a panic; o2cb fences by panicking, so an oops must panic too.
    "kernel.panic": 10,
    "kernel.panic_on_oops": 1,
}

# The pair's state for the site's monitoring (operations/metrics.py): each node writes it every
# interval_seconds into node-exporter's textfile collector directory, served on port 9100.
metrics = {"textfile_directory": "/var/lib/prometheus/node-exporter", "interval_seconds": 30}

# DRBD's online verify of every resource (operations/verify.py): a timer on the pair's first node,
# at systemd's OnCalendar schedule (None: none); the health report fails when a resource has not
# been verified for max_age_days.
verify = {"schedule": "Sun *-*-* 03:00:00", "max_age_days": 8}
