"""The OCFS2 fact on output captured on the lab, the o2cb files, and when mkfs and mount may run."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from pyinfra.api import OperationError
from pyinfra.context import ctx_host, ctx_state

from facts.ocfs2 import Ocfs2, Ocfs2Device, Ocfs2State
from operations.ocfs2 import (
    cluster_filesystem,
    cluster_mount,
    cluster_online,
    mount_command,
)
from operations.util import OCFS2_MOUNT_RETRY_S, OCFS2_MOUNT_TRIES
from tests.helpers import FakeHost, real_storage_config, real_views
from twinstore.config import StorageConfig

FIXTURES = Path(__file__).parent / "fixtures"
TEMPLATES = Path(__file__).parent.parent / "templates" / "ocfs2"
MEMBERS = {"fiori": "192.168.1.6:7777", "torchio": "192.168.1.7:7777"}
TIMEOUTS = {"heartbeat_threshold": 61, "idle_timeout_ms": 60000, "keepalive_delay_ms": 4000, "reconnect_delay_ms": 4000}
DRBD0 = "/dev/drbd0"


def state(fixture: str) -> Ocfs2State:
    return Ocfs2().process((FIXTURES / fixture).read_text().splitlines())


def test_new_pair_before_ocfs2_cluster_offline_devices_blank_and_primary() -> None:
    ocfs2 = state("ocfs2-offline-blank.txt")
    assert not ocfs2.online and ocfs2.timeouts == {} and ocfs2.cluster_members == {}
    for device in ("/dev/drbd0", "/dev/drbd1"):
        assert ocfs2.devices[device].blank and not ocfs2.devices[device].has_ocfs2
        assert ocfs2.devices[device].both_primary_up_to_date
        assert ocfs2.devices[device].mount_points == ()


def test_converged_node_online_with_both_volumes_mounted() -> None:
    ocfs2 = state("ocfs2-online-mounted.txt")
    assert ocfs2.online and ocfs2.timeouts == TIMEOUTS
    assert ocfs2.cluster_members == MEMBERS
    drbd0 = ocfs2.devices["/dev/drbd0"]
    assert drbd0.has_ocfs2 and drbd0.label == "ocfs2-small" and not drbd0.blank
    assert drbd0.mount_points == ("/vol/ocfs2-small",)
    assert ocfs2.mounted_at("/vol/ocfs2-large") == ocfs2.devices["/dev/drbd1"]


# Outdated: the first leg's fence-peer handler found the peer unreachable when it promoted.
@pytest.mark.parametrize("peer_disk", ["DUnknown", "Outdated"])
def test_one_legged_device_is_alone_primary(peer_disk: str) -> None:
    line = f" 0: cs:WFConnection ro:Primary/Unknown ds:UpToDate/{peer_disk} C r----s"
    ocfs2 = Ocfs2().process(["#twinstore-section device /dev/drbd0", f"DRBD={line}", "BLKID_RC=2", "HEAD_ZERO=1"])
    device = ocfs2.devices["/dev/drbd0"]
    assert device.alone_primary and not device.both_primary_up_to_date and device.blank


def test_a_missing_device_is_neither_blank_nor_formatted() -> None:
    ocfs2 = Ocfs2().process(["#twinstore-section cluster", "#twinstore-section device /dev/drbd0", "MISSING=1"])
    assert not ocfs2.devices["/dev/drbd0"].exists
    assert not ocfs2.devices["/dev/drbd0"].blank and not ocfs2.devices["/dev/drbd0"].has_ocfs2


def test_no_signature_but_data_in_the_first_mib_is_not_blank() -> None:
    ocfs2 = Ocfs2().process(["#twinstore-section device /dev/drbd1", "BLKID_RC=2"])
    assert ocfs2.devices["/dev/drbd1"].exists and not ocfs2.devices["/dev/drbd1"].blank


# --- operations --------------------------------------------------------------------------

BLANK_PRIMARY = Ocfs2Device(
    DRBD0,
    exists=True,
    head_zero=True,
    connection="Connected",
    role="Primary",
    peer_role="Primary",
    disk="UpToDate",
    peer_disk="UpToDate",
)


@pytest.fixture(autouse=True)
def planning() -> Iterator[None]:
    with ctx_state.use(SimpleNamespace(is_executing=False)):
        yield


def run(operation: Any, found: Ocfs2Device, online: bool = True, name: str = "fiori", **kwargs: Any) -> list[str]:
    fact = Ocfs2State(online=online, timeouts=TIMEOUTS, cluster_members=MEMBERS, devices={found.path: found})
    with ctx_host.use(FakeHost({Ocfs2: fact}, name=name)):
        return [c.get_raw_value() for c in operation._inner(**kwargs)]


def mkfs(device: Ocfs2Device, online: bool = True, name: str = "fiori", one_legged: bool = False) -> list[str]:
    return run(
        cluster_filesystem,
        device,
        online,
        name,
        device=DRBD0,
        minor=0,
        cluster="ocfs2",
        fs_type="mail",
        slots=2,
        label="ocfs2-small",
        maker=name if one_legged else "fiori",
        one_legged=one_legged,
    )


def test_mkfs_on_the_first_node_of_a_blank_primary_primary_pair_behind_a_last_moment_check() -> None:
    commands = mkfs(BLANK_PRIMARY)
    assert "blkid -p" in commands[0] and "zero_head_bytes=1048576\n" in commands[0]
    assert commands[1] == (
        "mkfs.ocfs2 -q --fs-feature-level=max-features --fs-features=nousrquota,nogrpquota "
        f"-T mail -N 2 -L ocfs2-small {DRBD0}"
    )


def test_mkfs_never_on_the_second_node() -> None:
    assert mkfs(BLANK_PRIMARY, name="torchio") == []


@pytest.mark.parametrize(
    "change",
    [
        {"peer_role": "Secondary"},
        {"peer_disk": "Inconsistent"},
        {"connection": "WFConnection", "peer_role": "Unknown", "peer_disk": "DUnknown"},
        {"role": "Secondary"},
    ],
)
def test_mkfs_waits_until_both_nodes_are_primary_and_up_to_date(change: dict[str, Any]) -> None:
    assert mkfs(replace(BLANK_PRIMARY, **change)) == []


def test_mkfs_waits_for_the_cluster() -> None:
    assert mkfs(BLANK_PRIMARY, online=False) == []


@pytest.mark.parametrize("peer_disk", ["DUnknown", "Outdated"])
def test_one_legged_start_makes_the_file_system_on_the_named_node(peer_disk: str) -> None:
    alone = replace(BLANK_PRIMARY, connection="WFConnection", peer_role="Unknown", peer_disk=peer_disk)
    assert mkfs(alone, name="torchio", one_legged=True)[-1].startswith("mkfs.ocfs2")
    assert mkfs(alone, name="fiori", one_legged=False) == []


def test_mkfs_refuses_a_device_whose_first_mib_is_not_zero() -> None:
    with pytest.raises(OperationError, match=r"first MiB is not zero.*dd if=/dev/zero of=/dev/drbd0"):
        mkfs(replace(BLANK_PRIMARY, head_zero=False))


@pytest.mark.parametrize("signature", ["ext4", "xfs", "LVM2_member"])
def test_mkfs_refuses_any_other_signature_on_every_node(signature: str) -> None:
    for name in ("fiori", "torchio"):
        with pytest.raises(OperationError, match=f"holds {signature}; refusing to make OCFS2"):
            mkfs(replace(BLANK_PRIMARY, signature=signature, blkid_status=0), name=name)


def test_a_device_with_frozen_io_is_not_probed_and_nothing_is_made_on_it() -> None:
    # The fact skips blkid and the zero check on it (a read would wait until I/O resumes).
    output = [
        "#twinstore-section device /dev/drbd0",
        "DRBD= 0: cs:WFConnection ro:Primary/Unknown ds:UpToDate/DUnknown C s-----",
        "MOUNTED=/vol/ocfs2-small",
    ]
    device = Ocfs2().process(output).devices["/dev/drbd0"]
    assert device.io_suspended and device.mount_points == ("/vol/ocfs2-small",)
    assert not device.blank and not device.has_ocfs2
    with pytest.raises(OperationError, match="I/O is frozen"):
        mkfs(replace(BLANK_PRIMARY, io_suspended=True))


def test_the_fact_script_skips_the_probe_of_a_frozen_device() -> None:
    command = Ocfs2().command(cluster="ocfs2", devices=[("/dev/drbd0", 0)]).get_raw_value()
    probe = command.index("blkid -p")
    assert command.index('if [ -n "$frozen" ]; then continue; fi') < probe


def test_existing_ocfs2_is_left_alone() -> None:
    formatted = replace(BLANK_PRIMARY, signature="ocfs2", blkid_status=0, label="ocfs2-small", head_zero=False)
    assert mkfs(formatted) == []


def mount(device: Ocfs2Device, online: bool = True, promoted: bool = False) -> list[str]:
    return run(
        cluster_mount,
        device,
        online,
        device=DRBD0,
        minor=0,
        cluster="ocfs2",
        mount_point="/vol/ocfs2-small",
        options=["_netdev", "noatime"],
        promoted=promoted,
    )


FORMATTED = replace(BLANK_PRIMARY, signature="ocfs2", blkid_status=0)
MOUNT = mount_command(DRBD0, "/vol/ocfs2-small", ["_netdev", "noatime"]).get_raw_value()


def test_mount_a_primary_ocfs2_device() -> None:
    assert mount(FORMATTED) == [MOUNT]


def test_no_mount_while_secondary_unformatted_offline_or_already_mounted() -> None:
    assert mount(replace(FORMATTED, role="Secondary", disk="Inconsistent")) == []
    assert mount(BLANK_PRIMARY) == []
    assert mount(FORMATTED, online=False) == []
    assert mount(replace(FORMATTED, mount_points=("/vol/ocfs2-small",))) == []


def test_a_device_this_run_promotes_is_mounted_though_the_facts_saw_it_secondary() -> None:
    assert mount(replace(FORMATTED, role="Secondary", disk="Consistent"), promoted=True) == [MOUNT]


def run_mount_command(tmp_path: Path, mounted: bool, failures: int = 0, expect_rc: int = 0) -> list[str]:
    """The mount command on a host whose flock, findmnt, mount and sleep are stubs that log their
    calls; the mount fails its first `failures` times."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "calls"
    tries = tmp_path / "mount-tries"
    stubs = {
        # flock runs its command, as the real one does once it holds the lock.
        "flock": f'echo "flock $1" >> {log}; shift; exec "$@"',
        "findmnt": f'echo "findmnt $*" >> {log}; exit {0 if mounted else 1}',
        "mount": f'echo "mount $*" >> {log}; echo x >> {tries}; [ $(wc -l < {tries}) -gt {failures} ]',
        "sleep": f'echo "sleep $*" >> {log}',
    }
    for name, body in stubs.items():
        (bin_dir / name).write_text(f"#!/bin/sh\n{body}\n")
        (bin_dir / name).chmod(0o755)
    lock = tmp_path / "run" / "mount.lock"
    command = mount_command(DRBD0, "/vol/ocfs2 small", ["_netdev", "noatime"]).get_raw_value()
    command = command.replace("/run/twinstore/mount.lock", str(lock))
    result = subprocess.run(["sh", "-c", command], env={"PATH": f"{bin_dir}:/usr/bin:/bin"}, capture_output=True)
    assert result.returncode == expect_rc, result.stderr
    assert lock.parent.is_dir()
    return log.read_text().splitlines()


def test_the_mount_takes_the_boot_units_lock_and_mounts_only_once(tmp_path: Path) -> None:
    lock = tmp_path / "run" / "mount.lock"
    assert run_mount_command(tmp_path, mounted=False) == [
        f"flock {lock}",
        "findmnt -rn -S /dev/drbd0 -M /vol/ocfs2 small",
        "mount -t ocfs2 -o _netdev,noatime /dev/drbd0 /vol/ocfs2 small",
    ]


def test_a_volume_the_boot_unit_mounted_meanwhile_is_not_mounted_again(tmp_path: Path) -> None:
    assert [call.split()[0] for call in run_mount_command(tmp_path, mounted=True)] == ["flock", "findmnt"]


def test_a_mount_that_fails_is_tried_again_apart_until_it_succeeds(tmp_path: Path) -> None:
    # As a mount does while the cluster connection to the peer is being made again.
    calls = run_mount_command(tmp_path, mounted=False, failures=2)
    assert [call.split()[0] for call in calls] == ["flock"] + ["findmnt", "mount", "sleep"] * 2 + ["findmnt", "mount"]
    assert calls.count(f"sleep {OCFS2_MOUNT_RETRY_S}") == 2


def test_a_mount_that_keeps_failing_fails_the_operation_after_its_last_try(tmp_path: Path) -> None:
    calls = run_mount_command(tmp_path, mounted=False, failures=99, expect_rc=1)
    assert len([call for call in calls if call.startswith("mount ")]) == OCFS2_MOUNT_TRIES
    assert len([call for call in calls if call.startswith("sleep ")]) == OCFS2_MOUNT_TRIES - 1


def online(fact: Ocfs2State, members: dict[str, str] = MEMBERS) -> list[str]:
    host = FakeHost({Ocfs2: fact})
    with ctx_host.use(host):
        return [
            c.get_raw_value()
            for c in cluster_online._inner(cluster="ocfs2", timeouts=TIMEOUTS, members=members, devices=[])
        ]


def test_cluster_brought_online_by_restarting_o2cb() -> None:
    assert online(Ocfs2State()) == ["systemctl restart o2cb.service"]


def test_online_cluster_as_configured_is_left_alone() -> None:
    assert online(Ocfs2State(online=True, timeouts=TIMEOUTS, cluster_members=MEMBERS)) == []


def test_changed_timeouts_restart_o2cb_only_when_nothing_is_mounted() -> None:
    idle = Ocfs2State(online=True, timeouts={**TIMEOUTS, "idle_timeout_ms": 30000}, cluster_members=MEMBERS)
    assert online(idle) == ["systemctl restart o2cb.service"]
    busy = replace(idle, devices={DRBD0: replace(FORMATTED, mount_points=("/vol/ocfs2-small",))})
    assert online(busy) == []


def test_changed_members_restart_o2cb_only_when_nothing_is_mounted() -> None:
    moved = {"fiori": "10.99.0.6:7777", "torchio": "10.99.0.7:7777"}
    idle = Ocfs2State(online=True, timeouts=TIMEOUTS, cluster_members=MEMBERS, devices={DRBD0: FORMATTED})
    assert online(idle, moved) == ["systemctl restart o2cb.service"]
    busy = replace(idle, devices={DRBD0: replace(FORMATTED, mount_points=("/vol/ocfs2-small",))})
    assert online(busy, moved) == []


# --- configuration files ------------------------------------------------------------------


def render(template: str, config: StorageConfig, **extra: object) -> str:
    environment = Environment(loader=FileSystemLoader(TEMPLATES), undefined=StrictUndefined, keep_trailing_newline=True)
    return environment.get_template(template).render(cluster=config.ocfs2_cluster, **extra)


def storage_config(name: str) -> StorageConfig:
    view = next(view for view in real_views() if view.name == name)
    return StorageConfig.model_validate({key: view.data[key] for key in StorageConfig.model_fields if key in view.data})


def test_devices_and_members_from_the_configuration() -> None:
    config = storage_config("fiori")
    assert config.ocfs2_devices == [("/dev/drbd0", 0), ("/dev/drbd1", 1)]
    assert config.cluster_members == MEMBERS
    backlink = config.model_copy(
        update={"replication_link": config.replication_link.model_copy(update={"mode": "backlink"})}
    )
    assert backlink.cluster_members == {
        node.name: f"{node.link_address}:{config.ocfs2_cluster.port}" for node in config.nodes
    }


def test_cluster_conf_is_the_same_on_both_nodes_and_has_the_procedures_values() -> None:
    texts = []
    for name in ("fiori", "torchio"):
        config = storage_config(name)
        nodes = [{"name": n.name, "address": str(n.lan_address), "number": n.o2cb_number} for n in config.nodes]
        texts.append(render("cluster.conf.j2", config, nodes=nodes))
    assert texts[0] == texts[1]
    stanzas = [stanza.strip().splitlines() for stanza in texts[0].split("\n\n")]
    assert stanzas[0][-4:] == ["cluster:", "\tnode_count = 2", "\theartbeat_mode = local", "\tname = ocfs2"]
    assert stanzas[1] == [
        "node:",
        "\tip_port = 7777",
        "\tip_address = 192.168.1.6",
        "\tnumber = 1",
        "\tname = fiori",
        "\tcluster = ocfs2",
    ]
    assert stanzas[2][3:5] == ["\tnumber = 2", "\tname = torchio"]


def test_o2cb_defaults_carry_the_procedures_timeouts() -> None:
    text = render("o2cb.j2", storage_config("fiori"))
    settings = dict(line.split("=", 1) for line in text.splitlines() if line and not line.startswith("#"))
    assert settings == {
        "O2CB_ENABLED": "true",
        "O2CB_STACK": "o2cb",
        "O2CB_BOOTCLUSTER": "ocfs2",
        "O2CB_HEARTBEAT_THRESHOLD": "61",
        "O2CB_IDLE_TIMEOUT_MS": "60000",
        "O2CB_KEEPALIVE_DELAY_MS": "4000",
        "O2CB_RECONNECT_DELAY_MS": "4000",
    }


def test_only_a_volume_nfs_exports_from_is_mounted_synchronously() -> None:
    # nfsd's stable writes rely on a per-write sync flag OCFS2 ignores (kernel 6.1): an exported
    # volume is mounted with sync, or acknowledged NFS writes wait in the page cache (lost at a power cut).
    config = real_storage_config()
    small, large = config.ocfs2_volumes["ocfs2-small"], config.ocfs2_volumes["ocfs2-large"]
    assert config.ocfs2_mount_options_for(small) == [*config.ocfs2_mount_options, "sync"]
    assert config.ocfs2_mount_options_for(large) == config.ocfs2_mount_options
    exporting_vmpool1 = real_storage_config(nfs_exports=[{"path": "/vol/vmpool1"}])
    assert "sync" in exporting_vmpool1.ocfs2_mount_options_for(large)
    assert "sync" not in exporting_vmpool1.ocfs2_mount_options_for(small)


def test_an_exported_volume_mounted_without_sync_is_remounted_synchronously() -> None:
    mounted = replace(FORMATTED, mount_points=("/vol/ocfs2-small",))
    remount = run(
        cluster_mount, mounted, True, device=DRBD0, minor=0, cluster="ocfs2", mount_point="/vol/ocfs2-small",
        options=["noatime", "sync"],
    )  # fmt: skip
    assert remount == ["mount -o remount,sync /vol/ocfs2-small"]
    synced = replace(mounted, sync_mount_points=("/vol/ocfs2-small",))
    unchanged = run(
        cluster_mount, synced, True, device=DRBD0, minor=0, cluster="ocfs2", mount_point="/vol/ocfs2-small",
        options=["noatime", "sync"],
    )  # fmt: skip
    assert unchanged == []
