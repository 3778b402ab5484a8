"""The real machines. Run: pyinfra inventory.py deploy.py [--dry] [--diff] [--limit NODE]

A group is a list of host names (or (name, data) tuples). A second storage pair is one
more group, listed also in ``storage``, with its own group_data file setting ``nodes``:

    pair_b = ["rigatoni", "penne"]
    storage = ["fiori", "torchio", *pair_b]
"""

from twinstore.validation import check_inventory_files

storage = ["fiori", "torchio"]
nis_servers = ["rotini"]
nfs_clients = ["chifferi"]

# Stop here, before pyinfra connects anywhere, if the configuration is wrong.
check_inventory_files(__file__, {"storage": storage, "nis_servers": nis_servers, "nfs_clients": nfs_clients})
