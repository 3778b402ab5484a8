"""What the lab changes in group_data/nis_servers.py: the storage nodes by address.

The lab's client resolves no site names (the guests reach no DNS server, and the site's names
are not the lab's concern), so its automount maps name fiori and torchio by their LAN addresses.
"""

import runpy
from pathlib import Path

_real = runpy.run_path(str(Path(__file__).resolve().parents[2] / "group_data" / "nis_servers.py"))
_addresses = {"fiori.pasta.net": "192.168.1.6", "torchio.pasta.net": "192.168.1.7"}

automount_maps = {
    map_name: {
        key: {**entry, "servers": [_addresses.get(server, server) for server in entry["servers"]]}
        for key, entry in entries.items()
    }
    for map_name, entries in _real["automount_maps"].items()
}
