"""twinstore: build and run the storage pair. Run: pyinfra inventory.py deploy.py

One deploy per subsystem, in the order the machines need them at boot.
"""

from pyinfra import host, inventory, state
from pyinfra.api import Host
from pyinfra.facts.deb import DebPackages
from pyinfra.facts.server import TmpDir
from pyinfra.operations import apt

from operations import (
    accounts,
    boot,
    drbd,
    ext4,
    fencing,
    firewall,
    links,
    lvm,
    mail,
    metrics,
    names,
    nfs,
    nfs_client,
    ocfs2,
    replication,
    sources,
    tuning,
    unison,
)
from operations.accounts import configure_accounts
from operations.boot import configure_boot
from operations.drbd import configure_drbd
from operations.ext4 import configure_ext4
from operations.fencing import configure_fencing, refuse_while_frozen
from operations.firewall import configure_firewall
from operations.links import configure_links
from operations.lvm import configure_lvm
from operations.mail import configure_mail
from operations.metrics import configure_metrics
from operations.names import configure_names
from operations.nfs import configure_nfs
from operations.nfs_client import configure_nfs_client
from operations.nis import (
    configure_nis_client,
    configure_nis_server,
    configure_nis_slave,
    nis_client_fact_reads,
    nis_server_fact_reads,
    nis_slave_fact_reads,
)
from operations.ocfs2 import configure_ocfs2
from operations.replication import configure_replication_link, finish_link_move, link_move
from operations.sources import configure_sources
from operations.tuning import configure_tuning
from operations.unison import configure_unison
from operations.util import units_reloaded, written_to_disk
from twinstore import fact_cache, fail_percent
from twinstore.config import StorageConfig
from twinstore.packages import packages_for
from twinstore.validation import (
    NFS_CLIENT_GROUP,
    NIS_SERVER_GROUP,
    STORAGE_GROUP,
    check_deploy_inventory,
    nfs_client_config,
    nis_server_config,
    site_config,
    storage_config,
)


def storage_fact_reads(config: StorageConfig) -> fact_cache.FactReads:
    """Everything the storage deploys read on a node."""
    reads = accounts.fact_reads()
    for subsystem in (
        sources,
        firewall,
        names,
        mail,
        tuning,
        lvm,
        ext4,
        replication,
        fencing,
        drbd,
        ocfs2,
        links,
        unison,
        nfs,
        boot,
        metrics,
    ):
        reads += subsystem.fact_reads(config)
    return reads


def host_fact_reads(target: Host) -> fact_cache.FactReads:
    """Everything this deploy reads on a host, for all the groups it is in."""
    # pyinfra's own temporary directory (files.template, files.put) and the package list (apt.packages).
    reads = fact_cache.FactReads(facts=[(TmpDir, {}), (DebPackages, {})])
    if STORAGE_GROUP in target.groups:
        reads += storage_fact_reads(storage_config(target))
        reads += nis_slave_fact_reads(site_config(target))
    if NIS_SERVER_GROUP in target.groups:
        reads += nis_server_fact_reads(nis_server_config(target), site_config(target))
    if NFS_CLIENT_GROUP in target.groups:
        reads += nis_client_fact_reads(site_config(target)) + nfs_client.fact_reads(nfs_client_config(target))
    return reads


# One read per fact and arguments until something changes (pyinfra 3 reads on every call).
fact_cache.install()
# A storage node that fails stops the whole run (config.py sets pyinfra's fail-percent; this
# keeps the rule when pyinfra's own prompt replaced it, without -y).
fail_percent.install(state)

# Same rules as inventory.py, now including --data overrides; stops before any change.
check_deploy_inventory(inventory)

if STORAGE_GROUP in host.groups:
    # Before any other read: one of a frozen volume would wait until I/O resumes.
    refuse_while_frozen(config=storage_config(host))

# What every subsystem below reads, in one round trip: each remote command costs a round
# trip, and each subsystem's own read then finds its answers (fact_cache).
fact_cache.prefetch_reads(host, host_fact_reads(host))

if STORAGE_GROUP in host.groups:
    # Before the packages: one of them could create an account with ids of its own choosing.
    configure_accounts(config=storage_config(host))
    # The packages below come from the install server by address when apt_sources is set.
    configure_sources(config=storage_config(host))

packages = packages_for(host.groups, storage_config(host) if STORAGE_GROUP in host.groups else None)
if packages:
    # One apt run per host for every subsystem (under TCG each run's start-up and triggers cost
    # most of a minute), and the same operation on every host, so all of them install at once.
    apt.packages(name="Packages", packages=packages, no_recommends=True)

# The master's maps first: the storage nodes copy them, and the clients below bind to it
# (the lab's client is both master and client).
if NIS_SERVER_GROUP in host.groups:
    configure_nis_server(config=nis_server_config(host), site=site_config(host))
if STORAGE_GROUP in host.groups:
    config = storage_config(host)
    configure_firewall(config=config, site=site_config(host))
    configure_names(config=config)
    configure_mail(config=config)
    configure_nis_slave(site=site_config(host))
    configure_tuning(config=config)
    configure_lvm(config=config)
    configure_ext4(config=config)
    # A move of the link takes the node out of service here, before the files below change,
    # and brings it back after the boot unit's: see operations/replication.py. Planned once,
    # from facts read before anything changes.
    move = link_move(config)
    configure_replication_link(config=config, move=move)
    configure_fencing(config=config)
    configure_drbd(config=config)
    configure_ocfs2(config=config, link_moves=move.needed)
    configure_links(config=config)
    configure_unison(config=config)
    configure_nfs(config=config, site=site_config(host))
    configure_boot(config=config)
    finish_link_move(move=move)
    # Last: it reports what the steps above brought up.
    configure_metrics(config=config)
    written_to_disk(name="Flush what this run wrote to disk")


if NFS_CLIENT_GROUP in host.groups:
    configure_nis_client(site=site_config(host))
    configure_nfs_client(config=nfs_client_config(host))

# The units enabled above, known to systemd as such (operations/util.py).
units_reloaded()
