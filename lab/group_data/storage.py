"""What the lab changes in group_data/storage.py: disk sizes and the disk vg0 is made on.

Each guest has one 16 GiB data disk (/dev/vdb); the real sizes (2.5 TiB) are scaled down.
rep-drbd1 is the smallest volume validation allows for -T vmstore (2 GiB for mkfs.ocfs2 plus
DRBD's metadata): every byte of the DRBD volumes is resynced when a second leg joins, and under
TCG that sync is the slowest step of the suite.
Every other value, and the volumes' roles and mount points, come from the real file.
"""

import runpy
from pathlib import Path

from lab import dns as _dns
from lab.settings import bmc_password_file, drbd_secret_file, guest

_real = runpy.run_path(str(Path(__file__).resolve().parents[2] / "group_data" / "storage.py"))
_lab_sizes = {"rep-no": "1G", "rep-drbd0": "1G", "rep-drbd1": "2112M", "rep-unison": "2G"}


def _lab_bmc(node: str) -> dict[str, object]:
    """The guest's BMC (lab/bmc.py): Redfish with the real fence_redfish, over the guests'
    management network, its certificate the lab's own (self-signed, so not verified)."""
    return {
        "agent": "fence_redfish",
        "options": {
            "ip": guest(node).bmc_address,
            "ipport": "443",
            "username": "twinstore",
            "ssl_insecure": "1",
            "systems_uri": "/redfish/v1/Systems/1",
        },
        "password_file": str(bmc_password_file(node)),
    }


nodes = [{**node, "fence": _lab_bmc(str(node["name"]))} for node in _real["nodes"]]
volume_group = {**_real["volume_group"], "devices": ["/dev/vdb"]}
logical_volumes = {name: {**volume, "size": _lab_sizes[name]} for name, volume in _real["logical_volumes"].items()}
# A fixed resync rate above what the TCG guests reach (10-20 MB/s per resource on the lab), so
# the guests alone set the pace of a second-leg sync; on real machines DRBD's controller decides.
# Boot waits of 10 s instead of 120: a node that may be stale waits for its peer however long
# that takes either way, and the fault scenarios wait out these timeouts on every boot (a peer
# that boots later than that is still joined: the boot unit keeps waiting for it).
drbd_options = {
    **_real["drbd_options"],
    "shared_secret_file": str(drbd_secret_file("pair-a")),
    "resync_rate": "40M",
    "wfc_timeout": 10,
    "degr_wfc_timeout": 10,
    "outdated_wfc_timeout": 5,
    # DRBD's default activity log (1237 extents, 4.8 GiB) covers the lab's volumes whole, so
    # every crashed Primary would resync all of them; real volumes are 100 times larger.
    "al_extents": 67,
}
# The guests reach nothing outside: the client guest is the lab's DNS root (lab/dns.py), which
# the nodes' resolvers recurse from as from the Internet's, with no forwarder. It is not signed
# with the root's key, so nothing can be validated against it.
resolver = {**_real["resolver"], "root_servers": [_dns.ROOT_SERVER], "dnssec": False}
# The client guest stands in for the site's mail relay (tests/e2e/test_mail.py listens there).
mail_relay = "192.168.1.10"
# The client guest is the one NFS client whose root is trusted (the tests write through the
# exports as root); every other host of the client network is squashed, as on a real site.
nfs_exports = [{**export, "no_root_squash_hosts": ["192.168.1.10"]} for export in _real["nfs_exports"]]
# One sample costs about 3.5 s of a TCG guest's one CPU (12 % of it every 30 s, more during a
# boot); the e2e tests start the unit themselves when they need a fresh sample.
metrics = {**_real["metrics"], "interval_seconds": 600}
