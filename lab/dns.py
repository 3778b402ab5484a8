"""The lab's own DNS root: the client guest answers for "." and for the site's zone.

The guests reach nothing outside, so the storage nodes' resolvers (group_data: resolve from the
root servers, no forwarder) are given this root in lab/group_data/storage.py. Debian's unbound
serves both zones authoritatively (auth-zone, for-downstream), so the nodes' resolvers walk
down from the root as they would on the Internet. The root is not signed with the root's key.
"""

from __future__ import annotations

from lab.settings import FIRST_PAIR_AND_CLIENT

ROOT_SERVER = next(guest for guest in FIRST_PAIR_AND_CLIENT if guest.name == "client").lan_address
# The procedure's site domain: the automount maps name the storage nodes in it.
SITE_ZONE = "pasta.net"
# What a test resolves through the root: a name only this zone knows.
SITE_NAMES = {"nis": ROOT_SERVER, **{guest.name: guest.lan_address for guest in FIRST_PAIR_AND_CLIENT}}

_SOA = f"86400 IN SOA ns.lab. hostmaster.{SITE_ZONE}. 1 1800 900 604800 86400"
ROOT_ZONE = "\n".join(
    [
        f".\t{_SOA}",
        ".\t86400 IN NS ns.lab.",
        f"ns.lab.\t86400 IN A {ROOT_SERVER}",
        f"{SITE_ZONE}.\t86400 IN NS ns.lab.",
        "",
    ]
)
SITE_ZONE_FILE = "\n".join(
    [
        f"{SITE_ZONE}.\t{_SOA}",
        f"{SITE_ZONE}.\t86400 IN NS ns.lab.",
        *(f"{name}.{SITE_ZONE}.\t86400 IN A {address}" for name, address in SITE_NAMES.items()),
        "",
    ]
)
UNBOUND_CONF = f"""# The lab's DNS root (lab/dns.py): authoritative for "." and {SITE_ZONE}, on the LAN.
server:
    interface: 127.0.0.1
    interface: {ROOT_SERVER}
    access-control: 127.0.0.0/8 allow
    access-control: 192.168.1.0/24 allow
    # An authoritative server validates nothing (and the image has no root key to load).
    module-config: "iterator"
auth-zone:
    name: "."
    zonefile: "/etc/unbound/lab-root.zone"
    for-downstream: yes
    for-upstream: no
auth-zone:
    name: "{SITE_ZONE}."
    zonefile: "/etc/unbound/lab-{SITE_ZONE}.zone"
    for-downstream: yes
    for-upstream: no
"""
# Written into the client role's image (lab/image.py), with unbound installed there.
CLIENT_FILES = {
    "etc/unbound/unbound.conf.d/lab-root.conf": UNBOUND_CONF,
    "etc/unbound/lab-root.zone": ROOT_ZONE,
    f"etc/unbound/lab-{SITE_ZONE}.zone": SITE_ZONE_FILE,
}
CLIENT_PACKAGES = ["unbound"]
