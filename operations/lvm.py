"""LVM: the volume group on blank disks and the logical volumes at their configured sizes.

Only ever creates or grows. A volume group is made only on disks that carry no signature
at all, and a logical volume is never shrunk or removed.
"""

from __future__ import annotations

from collections.abc import Generator

from pyinfra import host
from pyinfra.api import OperationError, QuoteString, StringCommand, deploy, operation

from facts.lvm import BlockDevices, BlockDeviceState, LvmReport, LvmState
from operations.util import DEFAULT_EXTENT_SIZE, refuse_unless_blank, volume_size
from twinstore.config import StorageConfig
from twinstore.fact_cache import FactReads, prefetch_reads
from twinstore.validation import Problem, host_source, stop

# pvcreate's default data alignment: the first extent starts 1 MiB into the disk.
PV_DATA_OFFSET = 1024**2

# lvcreate --zero y clears this much of a new volume's start (lvcreate(8): "the first 4KiB").
LVCREATE_ZEROED_BYTES = 4096


def lvm_problems(
    config: StorageConfig,
    lvm: LvmState,
    devices: dict[str, BlockDeviceState],
    source: str = "group_data/storage.py",
    host_name: str = "",
) -> list[Problem]:
    """What stops the LVM plan on this host, found before any change: shrinks, missing disks, no room."""
    problems: list[Problem] = []
    on = f" on {host_name}" if host_name else ""
    vg_name = config.volume_group.name
    group = lvm.volume_groups.get(vg_name)
    extent = group.extent_size if group else DEFAULT_EXTENT_SIZE
    if group is None:
        if lvm.available and not config.volume_group.devices:
            problems.append(
                Problem(
                    source,
                    "volume_group.devices",
                    "[]",
                    f"volume group {vg_name} does not exist{on}; name the disks to create it on",
                )
            )
        free = 0
        for device in config.volume_group.devices:
            state = devices.get(device)
            if state is None or not state.exists:
                problems.append(Problem(source, "volume_group.devices", repr(device), f"no such block device{on}"))
            elif not state.is_blank:
                problems.append(
                    Problem(
                        source,
                        "volume_group.devices",
                        repr(device),
                        f"the disk carries {state.description}{on}; "
                        "twinstore only creates a volume group on a blank disk "
                        "(wipe it yourself if its data is not needed)",
                    )
                )
            else:
                free += (state.size - PV_DATA_OFFSET) // extent * extent
    else:
        free = group.free
    needed = 0
    for name, volume in config.logical_volumes.items():
        size = volume_size(lvm, vg_name, name, volume.size)
        if size.existing is None:
            needed += size.wanted
        elif size.existing > size.wanted:
            problems.append(
                Problem(
                    source,
                    f"logical_volumes.{name}.size",
                    repr(volume.size),
                    f"{vg_name}/{name} is already {size.existing} bytes{on}; volumes are grown, never shrunk",
                )
            )
        else:
            # A DRBD backing volume grows on both nodes, then DRBD and its file system grow
            # (operations/drbd.py refuses that unless the pair is whole and both nodes run).
            needed += size.wanted - size.existing
    if needed > free and (group is not None or config.volume_group.devices):
        problems.append(
            Problem(
                source,
                "logical_volumes",
                f"{needed // 1024**2} MiB more",
                f"the logical volumes do not fit: {vg_name} has {free // 1024**2} MiB free{on}, "
                f"{-(-(needed - free) // 1024**2)} MiB short",
            )
        )
    return problems


@operation()
def volume_group(group: str, devices: list[str]) -> Generator[StringCommand, None, None]:
    """
    Create a volume group on blank disks; an existing volume group is left as it is.

    + group: the volume group's name
    + devices: the disks to put it on, each of which must carry no signature
    """
    lvm = host.get_fact(LvmReport)
    if group in lvm.volume_groups:
        host.noop(f"volume group {group} exists")
        return
    if not devices:
        raise OperationError(f"volume group {group} does not exist and no devices are configured for it")
    for device in devices:
        yield refuse_unless_blank(device)
        yield StringCommand("lvm", "pvcreate", QuoteString(device))
    yield StringCommand("lvm", "vgcreate", QuoteString(group), *[QuoteString(device) for device in devices])


@operation()
def logical_volume(group: str, volume: str, size: str) -> Generator[StringCommand, None, None]:
    """
    Create a logical volume, or grow it to its configured size; never shrink it.

    + group: the volume group holding it
    + volume: the logical volume's name
    + size: wanted size, LVM style (``100G``, ``2T``)
    """
    wanted = volume_size(host.get_fact(LvmReport), group, volume, size)
    if wanted.existing is None:
        yield StringCommand(
            "lvm", "lvcreate", "--yes", "--wipesignatures", "y", "--zero", "y",
            "--name", QuoteString(volume), "--size", f"{wanted.wanted}b", QuoteString(group),
        )  # fmt: skip
    elif wanted.grows:
        yield StringCommand("lvm", "lvextend", "--size", f"{wanted.wanted}b", QuoteString(f"{group}/{volume}"))
    elif wanted.existing > wanted.wanted:
        raise OperationError(f"{group}/{volume} is larger ({wanted.existing} bytes) than {size}; refusing to shrink")
    else:
        host.noop(f"logical volume {group}/{volume} is {size}")


def fact_reads(config: StorageConfig) -> FactReads:
    devices = config.volume_group.devices
    return FactReads(facts=[(LvmReport, {}), *([(BlockDevices, {"paths": devices})] if devices else [])])


@deploy("LVM volume group and logical volumes")
def configure_lvm(config: StorageConfig) -> None:
    prefetch_reads(host, fact_reads(config))
    lvm = host.get_fact(LvmReport)
    devices = host.get_fact(BlockDevices, paths=config.volume_group.devices) if config.volume_group.devices else {}
    stop(lvm_problems(config, lvm, devices, host_source(host, "logical_volumes"), host.name))

    volume_group(
        name=f"Volume group {config.volume_group.name}",
        group=config.volume_group.name,
        devices=config.volume_group.devices,
    )
    for lv_name, volume in config.logical_volumes.items():
        logical_volume(
            name=f"Logical volume {config.volume_group.name}/{lv_name} ({volume.size})",
            group=config.volume_group.name,
            volume=lv_name,
            size=volume.size,
        )
