"""twinstore: build and run the storage pair. Run: pyinfra inventory.py deploy.py

One deploy per subsystem, in the order the machines need them at boot.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from types import ModuleType

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
    release,
    replication,
    sources,
    tuning,
    unison,
    verify,
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
from operations.release import refuse_unsupported_release
from operations.replication import LinkMove, configure_replication_link, finish_link_move, link_move
from operations.sources import configure_sources
from operations.tuning import configure_tuning
from operations.unison import configure_unison
from operations.upgrade import configure_upgrade
from operations.util import units_reloaded, written_to_disk
from operations.verify import configure_verify
from twinstore import fact_cache, fail_percent
from twinstore.config import SiteConfig, StorageConfig
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


@dataclass
class StorageRun:
    """What a storage node's steps are given: its configuration, the site's, and the link move
    the replication step plans in this run (from facts read before anything changed)."""

    config: StorageConfig
    site: SiteConfig
    move: LinkMove = field(default_factory=LinkMove)


@dataclass(frozen=True)
class Step:
    """One subsystem of a storage node: what it reads (all in one combined read at the start of
    the run) and how it is configured."""

    reads: Callable[[StorageRun], fact_cache.FactReads]
    configure: Callable[[StorageRun], object]


def subsystem(module: ModuleType, configure: Callable[[StorageRun], object]) -> Step:
    """A step whose reads are its module's fact_reads(config)."""
    return Step(reads=lambda run: module.fact_reads(run.config), configure=configure)


def no_reads(run: StorageRun) -> fact_cache.FactReads:
    return fact_cache.FactReads()


def plan_and_move_link(run: StorageRun) -> None:
    # A move of the link takes the node out of service here, before the files of the steps
    # after it change, and brings it back after the boot unit's: see operations/replication.py.
    run.move = link_move(run.config)
    configure_replication_link(config=run.config, move=run.move)


# Before the packages: one of them could create an account with ids of its own choosing, and
# the packages come from the install server by address when apt_sources is set.
BEFORE_PACKAGES = (
    Step(reads=lambda run: accounts.fact_reads(), configure=lambda run: configure_accounts(config=run.config)),
    subsystem(sources, lambda run: configure_sources(config=run.config)),
)
# A storage node's subsystems, in the order the machine needs them at boot.
STORAGE_STEPS = (
    subsystem(firewall, lambda run: configure_firewall(config=run.config, site=run.site)),
    subsystem(names, lambda run: configure_names(config=run.config)),
    subsystem(mail, lambda run: configure_mail(config=run.config)),
    Step(reads=lambda run: nis_slave_fact_reads(run.site), configure=lambda run: configure_nis_slave(site=run.site)),
    subsystem(tuning, lambda run: configure_tuning(config=run.config)),
    subsystem(lvm, lambda run: configure_lvm(config=run.config)),
    subsystem(ext4, lambda run: configure_ext4(config=run.config)),
    subsystem(replication, plan_and_move_link),
    subsystem(fencing, lambda run: configure_fencing(config=run.config)),
    subsystem(drbd, lambda run: configure_drbd(config=run.config)),
    subsystem(ocfs2, lambda run: configure_ocfs2(config=run.config, link_moves=run.move.needed)),
    subsystem(links, lambda run: configure_links(config=run.config)),
    subsystem(unison, lambda run: configure_unison(config=run.config)),
    subsystem(nfs, lambda run: configure_nfs(config=run.config, site=run.site)),
    subsystem(boot, lambda run: configure_boot(config=run.config)),
    Step(reads=no_reads, configure=lambda run: finish_link_move(move=run.move)),
    subsystem(verify, lambda run: configure_verify(config=run.config)),
    # Last: it reports what the steps above brought up.
    subsystem(metrics, lambda run: configure_metrics(config=run.config)),
    Step(reads=no_reads, configure=lambda run: written_to_disk(name="Flush what this run wrote to disk")),
)


def host_fact_reads(target: Host, storage: StorageRun | None) -> fact_cache.FactReads:
    """Everything this deploy reads on a host, for all the groups it is in."""
    # pyinfra's own temporary directory (files.template, files.put) and the package list (apt.packages).
    reads = fact_cache.FactReads(facts=[(TmpDir, {}), (DebPackages, {})]) + release.fact_reads()
    if storage is not None:
        for step in BEFORE_PACKAGES + STORAGE_STEPS:
            reads += step.reads(storage)
    if NIS_SERVER_GROUP in target.groups:
        reads += nis_server_fact_reads(nis_server_config(target), site_config(target))
    if NFS_CLIENT_GROUP in target.groups:
        reads += nis_client_fact_reads(site_config(target)) + nfs_client.fact_reads(nfs_client_config(target))
    return reads


def converge(storage_run: StorageRun | None) -> None:
    """This host's subsystems, in the order the machine needs them at boot."""
    if storage_run is not None:
        for step in BEFORE_PACKAGES:
            step.configure(storage_run)

    packages = packages_for(host.groups, storage_run.config if storage_run is not None else None, release.major())
    if packages:
        # One apt run per host for every subsystem (under TCG each run's start-up and triggers cost
        # most of a minute), and the same operation on every host, so all of them install at once.
        apt.packages(name="Packages", packages=packages, no_recommends=True)

    # The master's maps first: the storage nodes copy them, and the clients below bind to it
    # (the lab's client is both master and client).
    if NIS_SERVER_GROUP in host.groups:
        configure_nis_server(config=nis_server_config(host), site=site_config(host))
    if storage_run is not None:
        for step in STORAGE_STEPS:
            step.configure(storage_run)

    if NFS_CLIENT_GROUP in host.groups:
        configure_nis_client(site=site_config(host))
        configure_nfs_client(config=nfs_client_config(host))

    # The units enabled above, known to systemd as such (operations/util.py).
    units_reloaded()


# One read per fact and arguments until something changes (pyinfra 3 reads on every call).
fact_cache.install()
# A storage node that fails stops the whole run (config.py sets pyinfra's fail-percent; this
# keeps the rule when pyinfra's own prompt replaced it, without -y).
fail_percent.install(state)

# Same rules as inventory.py, now including --data overrides; stops before any change.
check_deploy_inventory(inventory)

# The configuration of this host's storage role, computed once.
storage = StorageRun(storage_config(host), site_config(host)) if STORAGE_GROUP in host.groups else None

# What every step below reads, in one round trip: each remote command costs a round trip, and
# each step's own read then finds its answers (fact_cache). On a storage node it answers first
# whether DRBD I/O is frozen, and then stops (fencing's gate): a read of a frozen volume would
# wait until I/O resumes.
fact_cache.prefetch_reads(host, host_fact_reads(host, storage), register=True)

refuse_unsupported_release()
if storage is not None:
    refuse_while_frozen(config=storage.config)


if storage is not None and storage.config.upgrade_to is not None:
    # The whole run: the next one converges the node on its new release, from its new facts.
    configure_upgrade(config=storage.config)
else:
    converge(storage)
