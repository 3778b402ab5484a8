"""What the lab changes in group_data/storage.py: disk sizes and the disk vg0 is made on.

Each guest has one 16 GiB data disk (/dev/vdb); the real sizes (2.5 TiB) are scaled down.
rep-drbd1 stays above 2 GiB: mkfs.ocfs2 -T vmstore refuses a smaller device.
Every other value, and the volumes' roles and mount points, come from the real file.
"""

import runpy
from pathlib import Path

_real = runpy.run_path(str(Path(__file__).resolve().parents[2] / "group_data" / "storage.py"))
_lab_sizes = {"rep-no": "1G", "rep-drbd0": "1G", "rep-drbd1": "3G", "rep-unison": "2G"}

volume_group = {**_real["volume_group"], "devices": ["/dev/vdb"]}
logical_volumes = {name: {**volume, "size": _lab_sizes[name]} for name, volume in _real["logical_volumes"].items()}
# A fixed resync rate so a second-leg join lasts long enough (about 75 s for the 3 GiB of
# rep-drbd1) for the tests to see a re-run during the sync; on real machines DRBD's
# controller decides.
drbd_options = {**_real["drbd_options"], "resync_rate": "40M"}
# The guests reach no outside resolver.
resolver_upstreams: list[str] = []
