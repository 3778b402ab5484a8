"""Operations every subsystem's run may end with (as pyinfra keeps shared pieces in operations/util)."""

from __future__ import annotations

import io
import re
from collections.abc import Generator
from dataclasses import dataclass
from typing import Any

from pyinfra import host, logger, state
from pyinfra.api import FileUploadCommand, Host, QuoteString, StringCommand, operation
from pyinfra.api.util import get_file_sha1, get_template
from pyinfra.facts.files import File, Sha1File
from pyinfra.facts.systemd import SystemdEnabled
from pyinfra.operations import systemd

from facts.drbd import usable_bytes
from facts.lvm import LvmState
from twinstore import fact_cache, shell
from twinstore.config import parse_size
from twinstore.templating import jinja_env_kwargs

DEFAULT_EXTENT_SIZE = 4 * 1024**2
# What a grown file system or DRBD device may fall short of its device without being grown
# again: OCFS2 rounds down to its cluster (at most 1 MiB); volumes grow in whole extents (4 MiB).
GROW_SLACK = 1024**2
# How many times a failed OCFS2 mount is tried, and how far apart: o2dlm fails a lock domain join
# at once while the cluster connection to a heartbeating peer is down, as it is for o2net's
# reconnect delay when the peer refused a connection that came before its heartbeat saw this
# node (both nodes starting their heartbeat together). Used by the boot script and the deploy's mounts.
OCFS2_MOUNT_TRIES = 6
OCFS2_MOUNT_RETRY_S = 10


def fstab_match(mount_point: str) -> str:
    """
    The extended regex (files.line with extended_regex=True) of a mount point's fstab entry,
    whatever its device and options, so a changed entry is replaced rather than added twice.
    """
    escaped = re.sub(r"([.+*?^$()\[\]{}|\\])", r"\\\1", mount_point)
    return rf"^\S+\s+{escaped}\s"


def round_to_extent(size: int, extent_size: int) -> int:
    return -(-size // extent_size) * extent_size


@dataclass(frozen=True)
class VolumeSize:
    """A logical volume's size now (None: it does not exist yet) and after this run, in bytes."""

    existing: int | None
    wanted: int

    @property
    def grows(self) -> bool:
        """This run extends the volume."""
        return self.existing is not None and self.existing < self.wanted


def volume_size(lvm: LvmState, group: str, volume: str, size: str) -> VolumeSize:
    """A logical volume's size now and after this run (configured sizes round up to whole extents)."""
    state = lvm.volume_groups.get(group)
    wanted = round_to_extent(parse_size(size), state.extent_size if state else DEFAULT_EXTENT_SIZE)
    existing = lvm.logical_volumes.get((group, volume))
    return VolumeSize(existing.size if existing is not None else None, wanted)


def drbd_grows(size: int, backing: VolumeSize) -> bool:
    """A DRBD device of this size (0 while down) grows in this run: its backing volume grows, or
    grew in a run that stopped before DRBD did."""
    return size > 0 and (backing.grows or size + GROW_SLACK <= usable_bytes(backing.wanted))


def planned_changes(host: Host) -> bool:
    """Whether an earlier operation plans a change on the host, as --dry's "Change" column counts
    (pyinfra's own table reads the same flag): one that runs only _if another changed counts
    when it runs."""
    return any(op.operation_meta._maybe_is_change and not op.global_arguments["_if"] for op in state.ops[host].values())


@operation(is_idempotent=False)
def written_to_disk() -> Generator[StringCommand, None, None]:
    """
    Flush what this run wrote: pyinfra writes files without fsync, and a power cut within half a
    minute of a run could leave a new boot script or resource file empty. Only when the run
    changes something on the host (planned changes in --dry, commands run while executing).
    """
    changed = fact_cache.changed_on(host) if state.is_executing else planned_changes(host)
    if not changed:
        host.noop("this run wrote nothing")
        return
    yield StringCommand("sync")


@operation()
def private_template(src: str, dest: str, **values: Any) -> Generator[StringCommand | FileUploadCommand, None, None]:
    """
    Render a template into a file that holds a secret: root's alone (0600) before any content
    lands in it, and never shown: pyinfra's files.template prints both versions with --diff.

    + src: the Jinja2 template (rendered as files.template renders it)
    + dest: the remote file
    + values: the template's variables
    """
    text = get_template(src, jinja_env_kwargs()).render(**values)
    remote = host.get_fact(File, path=dest)
    same = bool(remote) and host.get_fact(Sha1File, path=dest) == get_file_sha1(io.StringIO(text))
    private = remote["mode"] == 600 if remote else False
    if same and private:
        host.noop(f"{dest} is up to date (mode 0600)")
        return
    if not remote:
        # umask 077: the file never exists with wider permissions.
        yield operation_script("private_file", dest)
    elif not private:
        yield StringCommand("chmod", "600", QuoteString(dest))
    if not same:
        if state.config.DIFF:
            host.log(f"Will modify {dest}: it holds a secret, so no diff is shown", logger.info)
        # Written into the existing 0600 file: SFTP keeps the mode of a file it truncates.
        yield FileUploadCommand(io.StringIO(text), dest, remote_temp_filename=host.get_temp_filename(dest))


# The hosts where this run enabled or disabled a unit. The manager caches a unit's enablement
# (what `systemctl show`, and so SystemdEnabled, reads) until its next reload, which
# --no-reload leaves to units_reloaded: one reload per run instead of one per unit.
_ENABLEMENT_CHANGED: set[str] = set()


@operation()
def unit_state(
    service: str, running: bool | None = True, enabled: bool | None = None
) -> Generator[StringCommand, None, None]:
    """
    A systemd unit running or not, and started at boot or not, as pyinfra's systemd.service sets
    them, but enabled and disabled with --no-reload: `systemctl enable` alone reloads every unit
    of the manager; units_reloaded does it once, at the end of the run.

    + service: the full unit name (``nftables.service``, ``twinstore-metrics.timer``)
    + running: whether the unit should be running (None: left as it is)
    + enabled: whether the unit should be started at boot (None: left as it is)
    """
    yield from systemd.service._inner(service=service, running=running)
    if enabled is None:
        return
    if host.get_fact(SystemdEnabled, services=[service]).get(service, False) == enabled:
        host.noop(f"{service} is {'enabled' if enabled else 'disabled'}")
        return
    if state.is_executing:
        _ENABLEMENT_CHANGED.add(host.name)
    yield StringCommand("systemctl", "enable" if enabled else "disable", "--no-reload", QuoteString(service))


def units_reloaded() -> None:
    """One reload of systemd's units, where this run enabled or disabled one (unit_state)."""
    name = host.name
    systemd.daemon_reload(name="systemd reads what the run enabled", _if=lambda: name in _ENABLEMENT_CHANGED)


def refuse_unless_blank(device: str, zero_head_bytes: int = 0) -> StringCommand:
    """
    Shell guard run just before a destructive command: blkid -p exits 2 only when it finds nothing.

    + device: the block device about to be written
    + zero_head_bytes: also require this many leading bytes to be zero (what drbdmeta checks)
    """
    return operation_script("refuse_unless_blank", device, zero_head_bytes=zero_head_bytes)


def operation_script(name: str, *arguments: object, **values: object) -> StringCommand:
    """
    operations/scripts/<name>.sh, run with sh.

    + name: the script
    + arguments: its positional arguments, each one word ($1, $2, ...)
    + values: shell variables it reads, assigned (quoted) before it
    """
    return shell.sh_command(shell.script_text("operations", [name], values), arguments)
