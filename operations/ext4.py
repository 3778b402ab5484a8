"""Local ext4 volumes (rep-no, rep-unison): filesystem, fstab entry and mount.

mkfs runs only on a volume this run created, or on one proven blank the way the DRBD and
OCFS2 paths prove it: no signature to blkid and a zero start, so a filesystem whose magic a
mistaken `wipefs` erased is not formatted over. Checked twice: from facts when the plan is
made, and on the host right before mkfs runs.
"""

from __future__ import annotations

from collections.abc import Generator

from pyinfra import host
from pyinfra.api import OperationError, QuoteString, StringCommand, deploy, operation
from pyinfra.facts.server import Mounts
from pyinfra.operations import files, server

from facts.lvm import ZERO_HEAD_BYTES, BlockDevices, LvmReport
from operations.lvm import LVCREATE_ZEROED_BYTES
from operations.util import VolumeSize, fstab_match, refuse_unless_blank, volume_size
from twinstore.config import StorageConfig
from twinstore.fact_cache import FactReads, prefetch_reads


@operation()
def filesystem(device: str, fs_type: str = "ext4", new_volume: bool = False) -> Generator[StringCommand, None, None]:
    """
    Make a filesystem on a device that carries nothing; leave one of the same type alone.

    + device: the block device
    + fs_type: the filesystem wanted (mkfs.<fs_type>)
    + new_volume: the device is created earlier in this same run, so the facts could not see it yet
    """
    state = host.get_fact(BlockDevices, paths=[device]).get(device)
    if state is not None and state.exists:
        if state.signature == fs_type:
            host.noop(f"{device} holds {fs_type}")
            return
        if not state.is_blank:
            raise OperationError(
                f"{device} already holds {state.description}; refusing to make {fs_type} on it. "
                "If its data is not needed, wipe it by hand (wipefs -a) and run again."
            )
        if not new_volume and not state.proven_blank:
            raise OperationError(
                f"{device} carries no signature blkid knows, but its first {ZERO_HEAD_BYTES} bytes are "
                f"not zero (a filesystem whose signature was wiped?); refusing to make {fs_type} on it. "
                "If its data is not needed, zero its start by hand "
                f"(dd if=/dev/zero of={device} bs=1M count={ZERO_HEAD_BYTES // 2**20}) and run again."
            )
    elif not new_volume:
        raise OperationError(f"{device} does not exist")
    yield refuse_unless_blank(device, zero_head_bytes=LVCREATE_ZEROED_BYTES if new_volume else ZERO_HEAD_BYTES)
    yield StringCommand(f"mkfs.{fs_type}", "-q", QuoteString(device))


# resize2fs leaves out a last block group too small for its own metadata (up to about 2.3 MiB
# with 4 KiB blocks): a file system this much short of its volume was not grown.
EXT4_GROW_SLACK = 4 * 1024**2


@operation()
def grown(device: str, size: VolumeSize) -> Generator[StringCommand, None, None]:
    """
    Grow a mounted ext4 file system to fill its volume (resize2fs, online) when the volume grows
    in this run or grew in a run that stopped before the file system did.

    + device: the logical volume
    + size: the volume's size now and after this run
    """
    state = host.get_fact(BlockDevices, paths=[device]).get(device)
    if state is None or state.fs_size is None:
        host.noop(f"{device} holds no ext4 file system yet: one made in this run fills it")
        return
    if not size.grows and (size.existing is None or state.fs_size + EXT4_GROW_SLACK > size.existing):
        host.noop(f"ext4 on {device} fills its volume")
        return
    yield StringCommand("resize2fs", QuoteString(device))


def mounted_volumes(config: StorageConfig) -> dict[str, str]:
    """Logical volume name -> mount point of every ext4 volume."""
    return {
        name: volume.mount_point
        for name, volume in config.logical_volumes.items()
        if volume.role in ("ext4", "unison") and volume.mount_point is not None
    }


def fact_reads(config: StorageConfig) -> FactReads:
    volumes = mounted_volumes(config)
    return FactReads(
        directories=["/vol", *volumes.values()],
        lines=[("/etc/fstab", fstab_match(mount_point), True) for mount_point in volumes.values()],
        facts=[
            (LvmReport, {}),
            (BlockDevices, {"paths": [config.mapper_path(name) for name in volumes]}),
            (Mounts, {}),
        ],
    )


@deploy("ext4 volumes")
def configure_ext4(config: StorageConfig) -> None:
    group = config.volume_group.name
    prefetch_reads(host, fact_reads(config))
    lvm = host.get_fact(LvmReport)
    options = ",".join(config.ext4_mount_options)
    ext4_volumes = mounted_volumes(config)
    files.directory(name="Directory /vol", path="/vol", present=True)
    for volume_name, mount_point in ext4_volumes.items():
        device = config.mapper_path(volume_name)
        filesystem(
            name=f"ext4 on {group}/{volume_name}",
            device=device,
            new_volume=(group, volume_name) not in lvm.logical_volumes,
        )
        files.directory(name=f"Mount point {mount_point}", path=mount_point, present=True)
        files.line(
            name=f"fstab entry for {mount_point}",
            path="/etc/fstab",
            line=fstab_match(mount_point),
            extended_regex=True,
            replace=f"{device} {mount_point} ext4 {options} 0 2",
        )
        server.mount(
            name=f"Mount {mount_point}",
            path=mount_point,
            device=device,
            fs_type="ext4",
            options=config.ext4_mount_options,
        )
        grown(
            name=f"Grow ext4 on {group}/{volume_name} to fill it",
            device=device,
            size=volume_size(lvm, group, volume_name, config.logical_volumes[volume_name].size),
        )
