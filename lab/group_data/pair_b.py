"""The lab's second pair (TWINSTORE_LAB_PAIRS=2): only what differs from the first.

As on a real site (see inventory.py), a second pair sets its nodes, its own DRBD secret and
its unison client; sizes, volumes, exports and the rest come from the storage group.
"""

import runpy
from pathlib import Path

from lab.settings import drbd_secret_file

_real = runpy.run_path(str(Path(__file__).resolve().parents[2] / "group_data" / "storage.py"))

nodes = [
    {"name": "fusilli", "lan_address": "192.168.1.8", "link_address": "10.99.0.8", "o2cb_number": 1},
    {"name": "penne", "lan_address": "192.168.1.9", "link_address": "10.99.0.9", "o2cb_number": 2},
]
_lab = runpy.run_path(str(Path(__file__).resolve().parent / "storage.py"))
drbd_options = {**_lab["drbd_options"], "shared_secret_file": str(drbd_secret_file("pair-b"))}
unison = {**_real["unison"], "client": "fusilli"}
