"""unison: the large ext4 volume kept in step between the two nodes by a nightly sync.

One node (the configuration's ``unison.client``) runs the sync with its own ed25519 key.
The peer accepts that key only from the client's replication address and only to run the
unison server; the client knows the peer's host key from the deploy itself (read over the
administrator's own SSH connection), never by trusting it on first use.
"""

from __future__ import annotations

from collections.abc import Generator
from pathlib import Path
from typing import Any

from pyinfra import host, inventory, logger
from pyinfra.api import OperationError, QuoteString, StringCommand, deploy, operation
from pyinfra.api.exceptions import PyinfraError
from pyinfra.facts.crontab import Crontab
from pyinfra.operations import crontab, files

from facts.unison import Unison, UnisonState
from operations.report import report
from operations.util import unit_state
from twinstore.config import UNISON_ARCHIVE_DIR, StorageConfig, UnisonProfile
from twinstore.fact_cache import FactReads, prefetch_reads
from twinstore.templating import jinja_env_kwargs

TEMPLATES = Path(__file__).resolve().parent.parent / "templates" / "unison"
KEY = "/root/.ssh/id_ed25519_unison"
KNOWN_HOSTS = "/root/.ssh/known_hosts_unison"
ARCHIVE_DIR = UNISON_ARCHIVE_DIR
SERVER_COMMAND = "/usr/local/sbin/twinstore-unison-server"
SYNC_COMMAND = "/usr/local/sbin/twinstore-unison-sync"
SYNC_LOCK = "/run/lock/twinstore-unison.lock"
LOGROTATE_FILE = "/etc/logrotate.d/twinstore-unison"
MARKER = "twinstore-unison"
# Where the archive of a sync with a peer since rebuilt is kept (it names no file anything reads).
REBUILT_PEER_DIR = "before-rebuild-of"


def fact_arguments(root: str) -> dict[str, str]:
    """The Unison fact's arguments: every read passes the same ones, so one read serves all."""
    return {"key": KEY, "known_hosts": KNOWN_HOSTS, "archive_dir": ARCHIVE_DIR, "root": root}


def unison_state(root: str) -> UnisonState:
    return host.get_fact(Unison, **fact_arguments(root))


def read_node(name: str, root: str) -> UnisonState | None:
    """Another node's unison state, read even when --limit leaves it out; None when unreachable."""
    try:
        return inventory.get_host(name).get_fact(Unison, **fact_arguments(root))
    except PyinfraError:
        return None


def ssh_options() -> str:
    """The sync's ssh options: its own key, the pinned host key only, never a prompt."""
    return f"-i {KEY} -o UserKnownHostsFile={KNOWN_HOSTS} -o StrictHostKeyChecking=yes -o BatchMode=yes"


def authorized_line(public_key: str, client_address: str) -> str:
    return f'from="{client_address}",command="{SERVER_COMMAND}",restrict {public_key}'


def sync_command_values(profile: UnisonProfile, root: str, node: str, peer: str, peer_address: str) -> dict[str, Any]:
    """The sync command template's values."""
    return {
        "root": root,
        "node": node,
        "peer": peer,
        "peer_address": peer_address,
        "ssh_options": ssh_options(),
        "log_file": profile.log_file,
        "count_file": profile.count_file,
        "last_run_file": profile.last_run_file,
        "max_deleted_percent": profile.max_deleted_percent,
        "profile_name": profile.profile_name,
        "sync_command": SYNC_COMMAND,
        "lock_file": SYNC_LOCK,
    }


# From 2.52 on, unison's wire protocol and archives no longer depend on its version: 2.52
# (Debian 12) and 2.53 (Debian 13) sync with each other, as a pair does half-way through a
# rolling upgrade. Before 2.52 both ends had to run the same version.
INTEROPERABLE_FROM = (2, 52)


def can_sync(local: UnisonState, remote: UnisonState) -> bool:
    """Whether unison on this node and on its peer can sync with each other."""
    if local.version is not None and local.version == remote.version:
        return True
    return all(state.release is not None and state.release >= INTEROPERABLE_FROM for state in (local, remote))


@operation()
def versions_sync(peer: str, root: str) -> Generator[StringCommand, None, None]:
    """
    Stop unless unison here and on the peer can sync with each other: the same version, or
    both 2.52 or later (unison's own interoperability rule).

    + peer: the other node of the pair
    + root: the synced volume's mount point
    """
    local = unison_state(root)
    remote = read_node(peer, root)
    if remote is None:
        report(f"unison: {peer} cannot be reached; its version is compared on a run that reaches it")
        return
    if remote.version is None:
        # A second leg not deployed yet (a one-legged start): its own run installs unison and compares.
        report(f"unison: {peer} has no unison yet; the versions are compared once it has")
        return
    if not can_sync(local, remote):
        raise OperationError(
            f"unison on the two nodes cannot sync with each other: {host.name} has "
            f"{local.version or 'no unison'}, {peer} has {remote.version}. Versions before 2.52 sync "
            "only with the very same version: install unison 2.52 or later on both (Debian 12 and "
            "later have it) and run again."
        )
    if local.version == remote.version:
        host.noop(f"{local.version} on both nodes")
    else:
        host.noop(f"{host.name} has {local.version}, {peer} has {remote.version}: both 2.52 or later, they sync")
    yield from ()


@operation()
def sync_key(root: str) -> Generator[StringCommand, None, None]:
    """
    Make root's ed25519 key for the sync, once.

    + root: the synced volume's mount point
    """
    if unison_state(root).public_key:
        host.noop(f"{KEY} exists")
        return
    yield StringCommand("install", "-d", "-m", "700", "/root/.ssh")
    yield StringCommand("ssh-keygen", "-q", "-t", "ed25519", "-N", "''", "-C", f"{MARKER}@{host.name}", "-f", KEY)


@operation()
def authorized_sync_key(client: str, client_address: str, root: str) -> Generator[StringCommand, None, None]:
    """
    Let the client's sync key in as root, only from its replication address, only for the unison server.

    + client: the node that runs the sync
    + client_address: its replication address
    + root: the synced volume's mount point
    """
    client_state = read_node(client, root)
    if client_state is None or client_state.public_key is None:
        report(f"unison: {client} has no sync key yet; it is authorized on the run after it is made")
        return
    wanted = authorized_line(client_state.public_key, client_address)
    current = unison_state(root).authorized
    if current == (wanted,):
        host.noop(f"{client}'s sync key is authorized for the unison server only")
        return
    yield StringCommand("install", "-d", "-m", "700", "/root/.ssh")
    yield StringCommand("touch", "/root/.ssh/authorized_keys")
    if current:
        yield StringCommand("sed", "-i", QuoteString(f"/{MARKER}/d"), "/root/.ssh/authorized_keys")
    yield StringCommand("echo", QuoteString(wanted), ">>", "/root/.ssh/authorized_keys")
    yield StringCommand("chmod", "600", "/root/.ssh/authorized_keys")


@operation()
def pinned_host_key(peer: str, peer_address: str, root: str) -> Generator[StringCommand, None, None]:
    """
    Pin the peer's ed25519 host key, as read over the deploy's own SSH connection, for the sync's ssh.

    + peer: the other node
    + peer_address: the address the sync connects to
    + root: the synced volume's mount point
    """
    peer_state = read_node(peer, root)
    if peer_state is None or peer_state.host_key is None:
        report(f"unison: {peer}'s host key cannot be read; it is pinned on a run that reaches it")
        return
    wanted = f"{peer_address} {peer_state.host_key}"
    if unison_state(root).known_hosts == (wanted,):
        host.noop(f"{peer}'s host key is pinned")
        return
    yield StringCommand("install", "-d", "-m", "700", "/root/.ssh")
    yield StringCommand("echo", QuoteString(wanted), ">", KNOWN_HOSTS)


@operation()
def first_sync(peer: str, root: str) -> Generator[StringCommand, None, None]:
    """
    Run the sync once when unison has never synced, so both copies start out equal.

    unison never deletes on a first sync (it has no archive to tell a deletion from a file
    that was never there): both copies end up with the union of what they hold. On a
    one-legged start the peer is not ready yet; the first run that finds it ready syncs.

    + peer: the other node
    + root: the synced volume's mount point
    """
    local = unison_state(root)
    remote = read_node(peer, root)
    # unison keeps an archive on both sides. The peer's is gone while ours is here: the peer was
    # rebuilt (node replaced). unison would refuse to sync ("archive file is missing on some
    # hosts"), and our deletion guard would read the new, empty copy as a mass deletion. The old
    # archive and count are set aside and the sync starts again as a first sync: a union, which
    # deletes nothing.
    peer_rebuilt = bool(local.archives) and remote is not None and remote.version is not None and not remote.archives
    if local.archives and not peer_rebuilt:
        host.noop("unison has synced before; cron runs it from now on")
        return
    if remote is None or not remote.mounted or not remote.authorized or not local.known_hosts:
        report(
            f"unison: {peer} is not ready for the first sync ({root} mounted there, this key authorized); "
            "a later run does it"
        )
        return
    if not local.mounted:
        report(f"unison: {root} is not mounted on {host.name}; the first sync waits for it")
        return
    if peer_rebuilt:
        kept = f"{ARCHIVE_DIR}/{REBUILT_PEER_DIR}-{peer}"
        host.log(f"unison: {peer} has no archive (rebuilt); the archive here moves to {kept}", logger.warning)
        yield StringCommand("mkdir", "-p", kept)
        yield StringCommand(
            f"for old in {ARCHIVE_DIR}/ar* {ARCHIVE_DIR}/fp* {ARCHIVE_DIR}/twinstore-*.count; do "
            f'if [ -f "$old" ]; then mv -f "$old" {kept}/; fi; done'
        )
    yield StringCommand(SYNC_COMMAND)


def fact_reads(config: StorageConfig) -> FactReads:
    profile = config.unison
    mount_point = config.logical_volumes[profile.volume].mount_point
    if mount_point is None:
        return FactReads()
    if host.name != profile.client:
        return FactReads(
            files=[SERVER_COMMAND],
            directories=[ARCHIVE_DIR],
            services=[DBUS_SOCKET],
            facts=[(Unison, fact_arguments(mount_point))],
        )
    return FactReads(
        files=[profile.profile_file, LOGROTATE_FILE, SYNC_COMMAND],
        directories=[ARCHIVE_DIR],
        facts=[(Unison, fact_arguments(mount_point)), (Crontab, {"user": "root"})],
    )


DBUS_SOCKET = "dbus.socket"


@deploy("unison: the large volume kept in step")
def configure_unison(config: StorageConfig) -> None:
    profile = config.unison
    mount_point = config.logical_volumes[profile.volume].mount_point
    if mount_point is None:  # validation requires one; this keeps the type checker honest
        return
    client = config.node(profile.client)
    peer = config.peer_of(client.name)
    is_client = host.name == client.name
    prefetch_reads(host, fact_reads(config))

    versions_sync(
        name="unison on both nodes can sync with each other", peer=config.peer_of(host.name).name, root=mount_point
    )
    if is_client:
        sync_key(name=f"Sync key {KEY}", root=mount_point)
    else:
        # The confined server (unison-server.sh.j2) may write its archives here, and cannot make it.
        files.directory(name=f"Directory {ARCHIVE_DIR}", path=ARCHIVE_DIR, present=True, mode="700")
        files.template(
            name=f"Forced command {SERVER_COMMAND}",
            src=str(TEMPLATES / "unison-server.sh.j2"),
            dest=SERVER_COMMAND,
            mode="755",
            jinja_env_kwargs=jinja_env_kwargs(),
            root=mount_point,
            archive_dir=ARCHIVE_DIR,
        )
        # The confined server's systemd-run talks to systemd over D-Bus. Installed on a running
        # machine by the package step, dbus is only started by the next boot (seen on a bare Debian).
        unit_state(name="D-Bus for the confined server", service=DBUS_SOCKET, running=True)
        authorized_sync_key(
            name=f"{client.name}'s sync key runs only the unison server",
            client=client.name,
            client_address=config.replication_address(client),
            root=mount_point,
        )
    if not is_client:
        return
    peer_address = config.replication_address(peer)
    pinned_host_key(name=f"{peer.name}'s host key pinned", peer=peer.name, peer_address=peer_address, root=mount_point)
    files.directory(name=f"Directory {ARCHIVE_DIR}", path=ARCHIVE_DIR, present=True, mode="700")
    files.template(
        name=f"unison profile {profile.profile_name}",
        src=str(TEMPLATES / "profile.prf.j2"),
        dest=profile.profile_file,
        profile=profile,
        mount_point=mount_point,
        peer=peer.name,
        peer_address=peer_address,
        ssh_options=ssh_options(),
    )
    files.template(
        name=f"Sync command {SYNC_COMMAND}",
        src=str(TEMPLATES / "sync.sh.j2"),
        dest=SYNC_COMMAND,
        mode="755",
        jinja_env_kwargs=jinja_env_kwargs(),
        **sync_command_values(profile, mount_point, host.name, peer.name, peer_address),
    )
    files.template(
        name=f"Rotate {profile.log_file}",
        src=str(TEMPLATES / "logrotate.j2"),
        dest=LOGROTATE_FILE,
        log_file=profile.log_file,
        days=profile.log_retention_days,
    )
    minute, hour, day_of_month, month, day_of_week = profile.schedule.split()
    crontab.crontab(
        name=f"unison {profile.profile_name} at {profile.schedule}",
        command=SYNC_COMMAND,
        user="root",
        cron_name=MARKER,
        minute=minute,
        hour=hour,
        day_of_month=day_of_month,
        month=month,
        day_of_week=day_of_week,
    )
    first_sync(name="First sync", peer=peer.name, root=mount_point)
