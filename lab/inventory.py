"""The lab's inventory: the real groups and group_data, reached through qemu's forwarded ports.

Run: pyinfra lab/inventory.py deploy.py (after ``python -m lab up``). The guest ``client``
plays both the NIS server and the NFS client. lab/group_data/ overrides only what the lab
must change (sizes and disks); everything else is the real configuration in group_data/.
"""

from lab.settings import guest, known_hosts, lab_pairs, ssh_key
from twinstore.validation import check_inventory_files


def _reach(name: str) -> tuple[str, dict[str, object]]:
    return (
        name,
        {
            "ssh_hostname": "127.0.0.1",
            "ssh_port": guest(name).ssh_port,
            "ssh_user": "root",
            "ssh_key": str(ssh_key()),
            "ssh_known_hosts_file": str(known_hosts()),
            "ssh_strict_host_key_checking": "yes",
        },
    )


storage = [_reach("fiori"), _reach("torchio")]
nis_servers = [_reach("client")]
nfs_clients = [_reach("client")]
groups: dict[str, object] = {"storage": storage, "nis_servers": nis_servers, "nfs_clients": nfs_clients}

# TWINSTORE_LAB_PAIRS=2: a second pair, as a real site adds one (see inventory.py). pair_b is
# defined after storage, so its group_data (lab/group_data/pair_b.py) wins where both set a key.
if lab_pairs() == 2:
    pair_b = [_reach("fusilli"), _reach("penne")]
    storage += pair_b
    groups["pair_b"] = pair_b

check_inventory_files(__file__, groups)
