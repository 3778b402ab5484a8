"""The lab's second pair (TWINSTORE_LAB_PAIRS=2): only what differs from the first.

As on a real site (see inventory.py), a second pair sets its nodes, its own DRBD secret and
its unison client; sizes, volumes, exports and the rest come from the storage group.
"""

import runpy
from pathlib import Path

from lab.settings import drbd_secret_file

_real = runpy.run_path(str(Path(__file__).resolve().parents[2] / "group_data" / "storage.py"))

_lab = runpy.run_path(str(Path(__file__).resolve().parent / "storage.py"))
nodes = [
    {"name": name, "lan_address": f"192.168.1.{last}", "link_address": f"10.99.0.{last}", "o2cb_number": number,
     "fence": _lab["_lab_bmc"](name)}
    for name, last, number in (("fusilli", 8, 1), ("penne", 9, 2))
]  # fmt: skip
drbd_options = {**_lab["drbd_options"], "shared_secret_file": str(drbd_secret_file("pair-b"))}
unison = {**_real["unison"], "client": "fusilli"}
