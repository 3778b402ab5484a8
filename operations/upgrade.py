"""A Debian upgrade of one storage node while its peer serves: ``--limit NODE --data upgrade_to=trixie``.

Debian's release notes' procedure, one node at a time, as a run of its own: the node leaves
service (its boot unit's stop: unexported, unmounted, demoted, DRBD down; then o2cb) while the
peer serves every client; its apt sources name the new release (``apt_sources`` rendered for it,
or the old codename replaced in each source file); the packages are upgraded keeping the files
the deploy wrote, with no service started by a package's scripts; the node reboots into the new
release, its boot unit brings it back, and the run ends once DRBD has resynced what the peer
wrote meanwhile (the bitmap's blocks, not a full sync). A plain deploy then converges the node on
its new release (packages and files chosen from its facts), and the other node follows the same way.

Refused before any change unless the run names this one node (``--limit``: its peer must keep
serving), the node runs the release just before ``upgrade_to``, and every resource is Connected
Primary/Primary UpToDate on both nodes with nothing out of sync: the peer carries the pair alone
for the whole upgrade, so it must hold all of the data. ``--dry`` lists every step.
"""

from __future__ import annotations

from collections.abc import Generator

from pyinfra import host
from pyinfra.api import StringCommand, deploy, operation
from pyinfra.operations import files, server

from facts.drbd import DrbdResources, DrbdResourceState
from facts.sources import SOURCES_LIST, AptSourceUris
from operations import release
from operations.boot import UNIT as BOOT_UNIT
from operations.drbd import read_peer
from operations.replication import nothing_holds, out_of_service
from operations.sources import TEMPLATES as SOURCES_TEMPLATES
from operations.sources import source_lines
from operations.util import operation_script
from twinstore.config import StorageConfig
from twinstore.fence_agents import fence_agent_package
from twinstore.releases import SUPPORTED_RELEASES, UPGRADES, major_of
from twinstore.validation import Problem, host_source, stop

# A storage server's firmware and the new kernel's first boot; a lab guest under TCG needs minutes.
REBOOT_TIMEOUT_S = 900
# Where invoke-rc.d asks whether a package's script may start a service.
POLICY_RC_D = "/usr/sbin/policy-rc.d"
# The boot unit's start (it waits for the peer at most wfc_timeout) and the bitmap resync.
RESYNC_TIMEOUT_S = 1800


def upgrade_problems(
    config: StorageConfig,
    host_name: str,
    running: int,
    local: dict[str, DrbdResourceState],
    peer: dict[str, DrbdResourceState] | None,
    peer_targeted: bool,
    source: str,
) -> list[Problem]:
    """Why this node may not be upgraded now (nothing when it already runs upgrade_to)."""
    target = config.upgrade_to
    if target is None or SUPPORTED_RELEASES.get(running) == target:
        return []
    peer_name = config.peer_of(host_name).name

    def problem(rule: str) -> Problem:
        return Problem(source, "upgrade_to", target, rule)

    if running != UPGRADES[target]:
        return [
            problem(
                f"{host_name} runs Debian {running}; the upgrade to {target} "
                f"is from Debian {UPGRADES[target]}, one release at a time"
            )
        ]
    if peer_targeted:
        return [
            problem(
                f"upgrades one node while its peer serves, and this run includes {peer_name} too; "
                f"run it with --limit {host_name}, then with --limit {peer_name}"
            )
        ]
    if peer is None:
        return [problem(f"{peer_name} cannot be reached: it must serve the pair while {host_name} is upgraded")]
    not_ready = [
        f"{name} on {where}: {state.summary()}"
        for where, states in ((host_name, local), (peer_name, peer))
        for name, state in sorted(states.items())
        if not state.healthy or state.out_of_sync_kib
    ]
    if not_ready:
        return [
            problem(
                f"{peer_name} carries the pair alone during the upgrade, so every resource must be Connected "
                f"Primary/Primary UpToDate with nothing out of sync first ({'; '.join(not_ready)}); "
                "run it again once status.py reports the pair healthy"
            )
        ]
    return []


@operation(is_idempotent=False)
def release_offered(major: int, codename: str) -> Generator[StringCommand, None, None]:
    """
    Refresh the package lists and fail, with the node still in service, unless they offer the release.

    + major: the release's Debian major version
    + codename: its codename
    """
    yield operation_script("upgrade_offered", major, codename)


@operation(is_idempotent=False)
def upgrade_packages(codename: str, fence_packages: list[str]) -> Generator[StringCommand, None, None]:
    """
    Upgrade every package to the release the sources name, keeping configuration files, starting no service.

    pyinfra's apt.dist_upgrade decides at plan time from a simulation against the package lists
    of the release the node still runs, so it would plan nothing here.

    + codename: the release /etc/os-release must name afterwards
    + fence_packages: the packages of the pair's fence agents on that release
    """
    yield operation_script("upgrade_packages", codename, *fence_packages, policy=POLICY_RC_D)


@operation(is_idempotent=False)
def back_and_resynced() -> Generator[StringCommand, None, None]:
    """Wait for the boot unit to bring the node back into service and for DRBD's resync to end."""
    yield operation_script("upgrade_resynced", BOOT_UNIT, timeout=RESYNC_TIMEOUT_S)


def sources_for(config: StorageConfig, old: str, new: str) -> None:
    """The apt sources of the new release: apt_sources rendered for it, or each file's codename replaced."""
    if config.apt_sources:
        files.template(
            name=f"{SOURCES_LIST} for {new}",
            src=str(SOURCES_TEMPLATES / "sources.list.j2"),
            dest=SOURCES_LIST,
            lines=source_lines(config.apt_sources, new),
        )
        return
    source_files: dict[str, list[str]] = host.get_fact(AptSourceUris, files=[SOURCES_LIST])
    for path in sorted(source_files):
        files.replace(
            name=f"{path}: {old} -> {new}",
            path=path,
            # The release and its suites: bookworm, bookworm-updates, bookworm-security, bookworm-backports.
            text=rf"\b{old}\b",
            replace=new,
            flags=["g"],
        )


@deploy("Debian upgrade")
def configure_upgrade(config: StorageConfig) -> None:
    target = config.upgrade_to
    if target is None:
        return
    running = release.major()
    if SUPPORTED_RELEASES[running] == target:
        host.noop(f"runs Debian {running} ({target}) already: run the deploy without upgrade_to to converge it")
        return
    local = host.get_fact(DrbdResources, resources=config.drbd_fact_resources)
    peer, peer_targeted = read_peer(config)
    stop(upgrade_problems(config, host.name, running, local, peer, peer_targeted, host_source(host, "upgrade_to")))

    new_major = major_of(target)
    # First, so that a volume someone holds stops the run before anything changes.
    nothing_holds(
        name="Nothing else uses the OCFS2 volumes",
        mount_points=config.ocfs2_mounts,
        purpose="the upgrade",
    )
    sources_for(config, release.codename(), target)
    release_offered(name=f"The apt sources offer Debian {new_major} ({target})", major=new_major, codename=target)
    out_of_service(
        name="Take the node out of service (its peer serves)",
        reasons=[f"upgrade from Debian {running} to {new_major}"],
    )
    upgrade_packages(
        name=f"Upgrade every package to Debian {new_major}",
        codename=target,
        fence_packages=sorted({fence_agent_package(agent, new_major) for agent in config.fence_agents}),
    )
    server.reboot(name=f"Reboot into Debian {new_major}", delay=10, interval=5, reboot_timeout=REBOOT_TIMEOUT_S)
    back_and_resynced(name="Back in service, DRBD resynced")
