"""The metrics script, rendered as the deploy renders it and run on fixtures of a node's state;
its file read back with the Prometheus text-format parser."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from operations.metrics import EXPORTER_ARGS, SOURCES, TEMPLATES, TEXTFILE, metrics_script_values
from tests.helpers import metric_samples, real_storage_config, render_template

FIXTURES = Path(__file__).parent / "fixtures"


def proc_drbd(fixture: str) -> str:
    """The /proc/drbd section of a DrbdResources fact fixture."""
    text = (FIXTURES / fixture).read_text()
    return text.split("#twinstore-section proc\n", 1)[1].split("#twinstore-section", 1)[0]


def collect(
    tmp_path: Path,
    drbd: str | None,
    online: bool = True,
    node: str = "fiori",
    source: str = "/dev/x",
    verified: dict[str, str] | None = None,
) -> dict[str, dict[str, float]]:
    """Run the script on a node whose state is the given /proc/drbd (None: no module), every
    volume mounted (from source) but the last, every export exported but the last; sample ->
    value by family."""
    config = real_storage_config()
    values = metrics_script_values(config, node)
    state = tmp_path / "state"
    state.mkdir(parents=True)
    values["textfile_directory"] = str(tmp_path / "textfile")
    values["proc_drbd"] = str(state / "drbd")
    if drbd is not None:
        (state / "drbd").write_text(drbd)
    values["cluster_dir"] = str(state / "cluster")
    if online:
        (state / "cluster" / config.ocfs2_cluster.name).mkdir(parents=True)
    # Mount points as directories of this machine, so df has something to measure.
    points = {point: state / "mnt" / point.strip("/").replace("/", "_") for point in values["mount_points"]}
    for directory in points.values():
        directory.mkdir(parents=True)
    values["mount_points"] = [str(directory) for directory in points.values()]
    mounted = values["mount_points"][:-1]
    values["proc_mounts"] = str(state / "mounts")
    (state / "mounts").write_text("".join(f"{source} {point} ext4 rw 0 0\n" for point in mounted))
    exports = [str(state / "export" / str(index)) for index, _ in enumerate(values["exports"])]
    for path in exports:
        Path(path).mkdir(parents=True)
    values["exports"] = exports
    values["etab"] = str(state / "etab")
    (state / "etab").write_text("".join(f"{path}\t192.168.1.0/24(rw,sync)\n" for path in exports[:-1]))
    if values["last_run_file"]:
        values["last_run_file"] = str(state / "last-run")
        (state / "last-run").write_text("1764590000 0\n")
    values["verify_state"] = str(state / "verify")
    (state / "verify").mkdir()
    for name, record in (verified or {}).items():
        (state / "verify" / name).write_text(record)
    script = tmp_path / "twinstore-metrics"
    script.write_text(render_template(TEMPLATES / "twinstore-metrics.sh.j2", **values))
    subprocess.run(["sh", str(script)], check=True, capture_output=True, text=True)
    written = tmp_path / "textfile" / TEXTFILE
    assert written.stat().st_mode & 0o777 == 0o644
    assert [path.name for path in written.parent.iterdir()] == [TEXTFILE], "a temporary file was left behind"
    return metric_samples(written.read_text())


@pytest.fixture
def connected(tmp_path: Path) -> dict[str, dict[str, float]]:
    return collect(tmp_path, proc_drbd("drbd-connected-primary-primary.txt"))


def test_a_connected_pair_reads_connected_primary_and_up_to_date(connected: dict[str, dict[str, float]]) -> None:
    for name in ("connected", "primary", "peer_primary", "up_to_date", "peer_up_to_date"):
        assert connected[f"twinstore_drbd_{name}"] == {"resource=drbd0": 1.0, "resource=drbd1": 1.0}, name
    assert connected["twinstore_drbd_out_of_sync_bytes"] == {"resource=drbd0": 0.0, "resource=drbd1": 0.0}
    assert "twinstore_drbd_resync_done_ratio" not in connected
    info = connected["twinstore_drbd_state_info"]
    assert info == {
        "connection_state=Connected,disk_state=UpToDate,peer_disk_state=UpToDate,peer_role=Primary,"
        f"resource={name},role=Primary": 1.0
        for name in ("drbd0", "drbd1")
    }
    assert connected["twinstore_o2cb_online"] == {"cluster=ocfs2": 1.0}


def test_each_volume_mounted_with_its_space_and_each_export(connected: dict[str, dict[str, float]]) -> None:
    mounted = connected["twinstore_volume_mounted"]
    assert sorted(mounted.values()) == [0.0] + [1.0] * (len(mounted) - 1)
    # Size and free space only for the mounted ones.
    assert len(connected["twinstore_volume_size_bytes"]) == len(mounted) - 1
    assert len(connected["twinstore_volume_free_bytes"]) == len(mounted) - 1
    assert all(value > 0 for value in connected["twinstore_volume_size_bytes"].values())
    exported = connected["twinstore_nfs_exported"]
    assert sorted(exported.values()) == [0.0] + [1.0] * (len(exported) - 1)
    # fiori runs the unison sync: its last run, a success.
    assert connected["twinstore_unison_last_run_timestamp_seconds"] == {"": 1764590000.0}
    assert connected["twinstore_unison_last_run_success"] == {"": 1.0}


def test_a_resync_reads_its_progress_and_what_is_left(tmp_path: Path) -> None:
    samples = collect(tmp_path, proc_drbd("drbd-syncsource.txt"))
    assert samples["twinstore_drbd_connected"] == {"resource=drbd0": 1.0, "resource=drbd1": 1.0}
    assert samples["twinstore_drbd_peer_up_to_date"] == {"resource=drbd0": 0.0, "resource=drbd1": 0.0}
    assert samples["twinstore_drbd_out_of_sync_bytes"] == {
        "resource=drbd0": 659388 * 1024,
        "resource=drbd1": 1707932 * 1024,
    }
    assert samples["twinstore_drbd_resync_done_ratio"] == {"resource=drbd0": 0.372, "resource=drbd1": 0.186}


def test_a_node_alone_and_a_node_without_drbd(tmp_path: Path) -> None:
    alone = collect(tmp_path / "alone", proc_drbd("drbd-wfconnection-one-leg.txt"), node="torchio")
    assert alone["twinstore_drbd_connected"] == {"resource=drbd0": 0.0, "resource=drbd1": 0.0}
    assert alone["twinstore_drbd_primary"] == {"resource=drbd0": 1.0, "resource=drbd1": 1.0}
    # torchio does not run the unison sync.
    assert "twinstore_unison_last_run_success" not in alone
    down = collect(tmp_path / "down", None, online=False)
    assert down["twinstore_drbd_connected"] == {"resource=drbd0": 0.0, "resource=drbd1": 0.0}
    assert down["twinstore_drbd_up_to_date"] == {"resource=drbd0": 0.0, "resource=drbd1": 0.0}
    assert "twinstore_drbd_out_of_sync_bytes" not in down
    assert down["twinstore_o2cb_online"] == {"cluster=ocfs2": 0.0}
    assert set(down["twinstore_drbd_state_info"]) == {
        f"connection_state=Unconfigured,disk_state=Unknown,peer_disk_state=Unknown,peer_role=Unknown,resource={name},"
        "role=Unknown"
        for name in ("drbd0", "drbd1")
    }


def test_frozen_io_is_a_metric_and_no_volume_on_drbd_is_measured_meanwhile(tmp_path: Path) -> None:
    running = collect(tmp_path / "running", proc_drbd("drbd-wfconnection-one-leg.txt"), source="/dev/drbd0")
    assert running["twinstore_drbd_io_suspended"] == {"resource=drbd0": 0.0, "resource=drbd1": 0.0}
    assert running["twinstore_volume_size_bytes"]
    # Fencing froze drbd1: a stat of a volume on DRBD would wait until I/O resumes.
    lines = proc_drbd("drbd-wfconnection-one-leg.txt").splitlines(keepends=True)
    lines = [line.replace(" C r", " C s") if line.startswith(" 1:") else line for line in lines]
    frozen = collect(tmp_path / "frozen", "".join(lines), source="/dev/drbd0")
    assert frozen["twinstore_drbd_io_suspended"] == {"resource=drbd0": 0.0, "resource=drbd1": 1.0}
    assert "twinstore_volume_size_bytes" not in frozen
    assert "twinstore_nfs_exported" not in frozen
    mounted = frozen["twinstore_volume_mounted"]
    assert sorted(mounted.values()) == [0.0] + [1.0] * (len(mounted) - 1)
    # Volumes that are not on DRBD are still measured.
    local = collect(tmp_path / "local", "".join(lines))
    assert len(local["twinstore_volume_size_bytes"]) == len(mounted) - 1


def test_the_sources_are_the_nodes_own() -> None:
    assert SOURCES == {
        "proc_drbd": "/proc/drbd",
        "cluster_dir": "/sys/kernel/config/cluster",
        "proc_mounts": "/proc/mounts",
        "etab": "/var/lib/nfs/etab",
    }


def test_node_exporters_file_system_collector_leaves_ocfs2_alone() -> None:
    # A statfs of an OCFS2 volume whose DRBD I/O is frozen would hold the scrape (seen on the lab).
    flag, _, pattern = EXPORTER_ARGS.partition("=")
    assert flag == "--collector.filesystem.fs-types-exclude" and " " not in pattern and '"' not in pattern
    excluded = re.compile(pattern)
    assert excluded.match("ocfs2") and excluded.match("cgroup2") and excluded.match("tracefs")
    assert not excluded.match("ext4") and not excluded.match("xfs") and not excluded.match("ocfs")


def test_the_last_verify_of_each_resource_where_one_ran(tmp_path: Path) -> None:
    verified = {
        "drbd0": "1764590000 1764590100 skipped -\n",
        "drbd0.done": "1764580000 1764580600 done 4\n",
        "drbd1.done": "1764580600 1764581800 done 0\n",
    }
    samples = collect(tmp_path, proc_drbd("drbd-connected-primary-primary.txt"), verified=verified)
    assert samples["twinstore_drbd_last_verify_timestamp_seconds"] == {
        "resource=drbd0": 1764580600.0,
        "resource=drbd1": 1764581800.0,
    }
    assert samples["twinstore_drbd_last_verify_out_of_sync_bytes"] == {"resource=drbd0": 4096.0, "resource=drbd1": 0.0}


def test_no_verify_metrics_on_a_node_that_never_verified(connected: dict[str, dict[str, float]]) -> None:
    assert "twinstore_drbd_last_verify_timestamp_seconds" not in connected
