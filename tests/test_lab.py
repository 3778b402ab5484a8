"""The lab's qemu command lines and SSH plumbing (the lab itself runs in tests/e2e)."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from lab import image, machines, qmp
from lab.settings import FIRST_PAIR_AND_CLIENT, Guest, guest
from tests.helpers import lab_storage_config
from twinstore.packages import packages_for


@pytest.fixture(autouse=True)
def lab_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("TWINSTORE_LAB_DIR", str(tmp_path))
    # A second lab's worker (tests/conftest.py) shares the first lab's directory: not here.
    monkeypatch.delenv("TWINSTORE_LAB_SHARED", raising=False)
    monkeypatch.delenv("TWINSTORE_LAB_SSH_PORT", raising=False)
    return tmp_path


def test_guests_fit_the_memory_budget() -> None:
    assert sum(g.memory_mib for g in FIRST_PAIR_AND_CLIENT) <= 4096


def test_management_network_is_restricted_and_local() -> None:
    command = " ".join(machines.qemu_command(guest("fiori"), Path("/images")))
    assert "user,id=mgmt,restrict=on,hostfwd=tcp:127.0.0.1:" in command
    assert "-accel tcg" in command
    # Storage guests: data disk and back-to-back link; the client has neither.
    assert "fiori-data.qcow2" in command and "id=link" in command
    client = " ".join(machines.qemu_command(guest("client"), Path("/images")))
    assert "data.qcow2" not in client and "id=link" not in client
    # The BMCs (lab/bmc.py) only through the management network, and only for storage guests.
    mgmt = machines.qemu_command(guest("fiori"), Path("/images"))
    netdev = next(item for item in mgmt if item.startswith("user,id=mgmt"))
    assert ",guestfwd=tcp:10.0.2.100:443-cmd:env PYTHONPATH=" in netdev
    assert " -m lab.bmc torchio" in netdev.split(",guestfwd=tcp:10.0.2.101:443-cmd:")[1]
    assert "guestfwd" not in client


def test_guest_identity_comes_from_the_kernel_command_line() -> None:
    command = machines.qemu_command(guest("torchio"), Path("/images"))
    append = command[command.index("-append") + 1]
    assert "twinstore.hostname=torchio" in append
    assert "twinstore.lan=192.168.1.7/24" in append


def test_guests_run_without_address_space_randomization_unless_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    def append() -> list[str]:
        command = machines.qemu_command(guest("fiori"), Path("/images"))
        return command[command.index("-append") + 1].split()

    monkeypatch.delenv("TWINSTORE_LAB_ASLR", raising=False)
    assert "norandmaps" in append()
    monkeypatch.setenv("TWINSTORE_LAB_ASLR", "1")
    assert "norandmaps" not in append()


def test_host_key_is_read_from_the_console_and_pinned(lab_dir: Path) -> None:
    fiori = guest("fiori")
    fiori.console_log.parent.mkdir(parents=True)
    fiori.console_log.write_text(
        "noise\nTWINSTORE-HOSTKEY ssh-ed25519 AAAAold\nTWINSTORE-HOSTKEY ssh-ed25519 AAAAnew\n"
    )
    key = machines.host_key_from_console(fiori)
    assert key == "ssh-ed25519 AAAAnew"
    machines.write_ssh_files({"fiori": key})
    assert (lab_dir / "known_hosts").read_text() == f"[127.0.0.1]:{fiori.ssh_port} ssh-ed25519 AAAAnew\n"
    config = (lab_dir / "ssh_config").read_text()
    assert "StrictHostKeyChecking yes" in config
    assert "StrictHostKeyChecking no" not in config
    # Sessions are multiplexed through a socket in the lab's run directory.
    assert f"ControlPath {lab_dir / 'run' / 'fiori.ssh'}\n" in config


def test_down_never_signals_a_process_that_is_not_the_labs(lab_dir: Path) -> None:
    pid_file = lab_dir / "run" / "fiori.pid"
    pid_file.parent.mkdir(parents=True)
    pid_file.write_text("1\n")  # init: alive, but not ours
    assert machines.guest_pid(guest("fiori")) is None
    machines.down(["fiori"])
    assert not pid_file.exists()


def test_recipe_hash_changes_with_the_recipe(lab_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (lab_dir / "id_ed25519.pub").write_text("ssh-ed25519 AAAA lab\n")
    before = image.recipe_hash()
    monkeypatch.setattr(image, "STORAGE_PACKAGES", [*image.STORAGE_PACKAGES, "htop"])
    assert image.recipe_hash() != before


def test_the_release_is_debian_13_unless_chosen_and_each_has_its_own_image(
    lab_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (lab_dir / "id_ed25519.pub").write_text("ssh-ed25519 AAAA lab\n")
    monkeypatch.delenv("TWINSTORE_LAB_RELEASE", raising=False)
    assert image.release() == "trixie"
    trixie = image.image_dir()
    monkeypatch.setenv("TWINSTORE_LAB_RELEASE", "bookworm")
    assert image.release() == "bookworm"
    assert image.image_dir() != trixie
    monkeypatch.setenv("TWINSTORE_LAB_RELEASE", "bullseye")
    with pytest.raises(SystemExit, match="TWINSTORE_LAB_RELEASE = 'bullseye': one of bookworm, trixie"):
        image.release()


@pytest.mark.skipif(shutil.which("qemu-img") is None, reason="qemu-img (qemu-utils) is not installed")
def test_disks_older_than_a_rebuilt_base_image_are_replaced(lab_dir: Path) -> None:
    image = lab_dir / "images" / "base-test"
    image.mkdir(parents=True)
    subprocess.run(["qemu-img", "create", "-q", "-f", "raw", str(image / "storage.img"), "1M"], check=True)
    fiori = guest("fiori")
    machines.make_disks(fiori, image)
    first = fiori.root_disk.stat().st_ino
    machines.make_disks(fiori, image)
    assert fiori.root_disk.stat().st_ino == first, "a disk newer than its base image is kept"
    # The same recipe built again later: the old overlay would mix blocks of two images.
    os.utime(fiori.root_disk, (1_000_000_000, 1_000_000_000))
    machines.make_disks(fiori, image)
    assert fiori.root_disk.stat().st_mtime > 1_000_000_000
    assert machines.backing_file(fiori.root_disk) == str(image / "storage.img")


@pytest.mark.skipif(shutil.which("qemu-img") is None, reason="qemu-img (qemu-utils) is not installed")
def test_guests_boot_their_roles_image_or_the_plain_one(lab_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    image = lab_dir / "images" / "base-test"
    image.mkdir(parents=True)
    for name in ("base", "storage", "client"):
        subprocess.run(["qemu-img", "create", "-q", "-f", "raw", str(image / f"{name}.img"), "1M"], check=True)
    machines.make_disks(guest("client"), image)
    machines.make_disks(guest("torchio"), image)
    assert machines.backing_file(guest("client").root_disk) == str(image / "client.img")
    assert machines.backing_file(guest("torchio").root_disk) == str(image / "storage.img")
    # The setting chooses the image of a new guest only: a guest started again keeps its disks.
    torchio = guest("torchio")
    torchio.data_disk.write_text("kept")
    monkeypatch.setenv("TWINSTORE_LAB_PREINSTALL", "0")
    machines.make_disks(torchio, image)
    assert machines.backing_file(torchio.root_disk) == str(image / "storage.img")
    assert torchio.data_disk.read_text() == "kept"
    # A guest reset with it boots the plain image (the legs scenario's replaced node), and stays
    # that guest when started without it (a power-on by its BMC).
    torchio.root_disk.unlink()
    machines.make_disks(torchio, image)
    assert machines.backing_file(torchio.root_disk) == str(image / "base.img")
    monkeypatch.delenv("TWINSTORE_LAB_PREINSTALL")
    machines.make_disks(torchio, image)
    assert machines.backing_file(torchio.root_disk) == str(image / "base.img")
    assert torchio.data_disk.read_text() == "kept"
    # An image of another recipe is another machine: fresh disks, data disk included.
    other = lab_dir / "images" / "base-other"
    other.mkdir()
    subprocess.run(["qemu-img", "create", "-q", "-f", "raw", str(other / "storage.img"), "1M"], check=True)
    machines.make_disks(torchio, other)
    assert machines.backing_file(torchio.root_disk) == str(other / "storage.img")
    assert torchio.data_disk.read_bytes() != b"kept"


@pytest.mark.parametrize("release", list(image.RELEASES))
def test_every_package_the_deploy_installs_on_the_lab_is_in_its_repository(
    release: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TWINSTORE_LAB_RELEASE", release)
    groups = {"fiori": ["storage"], "torchio": ["storage"], "client": ["nis_servers", "nfs_clients"]}
    lab = lab_storage_config()
    assert lab.mail_relay is not None and lab.stonith
    assert set(lab.fence_agents) == {image.LAB_FENCE_AGENT}
    for host_groups in groups.values():
        missing = set(packages_for(host_groups, lab, image.RELEASES[release])) - set(image.repo_packages())
        assert not missing, f"not in the lab's repository: {missing}"
    for packages in image.role_packages().values():
        assert set(packages) <= set(image.repo_packages())
    # One package stays a real install in every converge on the lab, on each storage node.
    assert image.MAIL_INSTALLED_BY_THE_DEPLOY
    for name in image.MAIL_INSTALLED_BY_THE_DEPLOY:
        assert name in packages_for(["storage"], lab, image.RELEASES[release])
        assert name not in {package for packages in image.role_packages().values() for package in packages}


TWO_PAIR_GROUPS: dict[str, object] = {
    "storage": ["fiori", "torchio", "fusilli", "penne"],
    "nis_servers": ["client"],
    "nfs_clients": ["client"],
    "pair_b": ["fusilli", "penne"],
}


def test_two_pair_lab_validates_and_each_pair_sees_its_own_nodes() -> None:
    from tests.helpers import ROOT
    from twinstore.validation import validate, views_from_files

    views = {v.name: v for v in views_from_files(str(ROOT / "lab" / "inventory.py"), TWO_PAIR_GROUPS, cwd=str(ROOT))}
    assert validate(list(views.values())) == []
    pair_names = {name: [node["name"] for node in views[name].data["nodes"]] for name in ("fiori", "penne")}
    assert pair_names == {"fiori": ["fiori", "torchio"], "penne": ["fusilli", "penne"]}
    assert views["fusilli"].data["unison"]["client"] == "fusilli"
    secrets = [views[name].data["drbd_options"]["shared_secret_file"] for name in ("fiori", "penne")]
    assert secrets[0] != secrets[1] and Path(secrets[0]).read_text() != Path(secrets[1]).read_text()
    # The lab's scaled-down sizes and data disk reach the second pair through the storage group.
    assert views["penne"].data["logical_volumes"] == views["fiori"].data["logical_volumes"]
    assert views["penne"].data["volume_group"]["devices"] == ["/dev/vdb"]


def test_second_pair_guests_only_when_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib

    from lab import settings

    try:
        monkeypatch.setenv("TWINSTORE_LAB_PAIRS", "2")
        names = [g.name for g in importlib.reload(settings).GUESTS]
        assert names == ["fiori", "torchio", "client", "fusilli", "penne"]
        assert len({g.ssh_port for g in settings.GUESTS}) == 5
        assert len({g.lan_address for g in settings.GUESTS}) == 5
        monkeypatch.setenv("TWINSTORE_LAB_PAIRS", "3")
        with pytest.raises(ValueError, match="1 or 2 storage pairs"):
            importlib.reload(settings)
    finally:
        monkeypatch.delenv("TWINSTORE_LAB_PAIRS")
        importlib.reload(settings)
    assert [g.name for g in settings.GUESTS] == ["fiori", "torchio", "client"]


def test_boot_timeout_grows_with_the_guests() -> None:
    assert machines.boot_timeout(3) == machines.BOOT_TIMEOUT_S
    assert machines.boot_timeout(5) > machines.boot_timeout(3)


class FakeQemu:
    """A QMP server on a unix socket that answers like qemu 7.2 and records what it was asked."""

    def __init__(self, path: Path, answers: dict[str, object]) -> None:
        self.path = path
        self.answers = answers
        self.requests: list[dict[str, object]] = []
        self.server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.server.bind(str(path))
        self.server.listen(4)
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self) -> None:
        while True:
            try:
                connection, _ = self.server.accept()
            except OSError:
                return
            with connection, connection.makefile("rw", encoding="utf-8", newline="\n") as stream:
                stream.write(json.dumps({"QMP": {"version": {}, "capabilities": []}}) + "\n")
                stream.flush()
                for line in stream:
                    request = json.loads(line)
                    self.requests.append(request)
                    # qemu interleaves events with answers; the client must skip them.
                    stream.write(json.dumps({"event": "NIC_RX_FILTER_CHANGED", "data": {}}) + "\n")
                    answer = self.answers.get(str(request["execute"]), {})
                    key = "error" if isinstance(answer, dict) and answer.get("class") else "return"
                    stream.write(json.dumps({key: answer}) + "\n")
                    stream.flush()

    def close(self) -> None:
        self.server.close()


def test_qmp_commands_reach_the_guest_socket_and_errors_are_raised(lab_dir: Path) -> None:
    fiori = guest("fiori")
    fiori.run_dir.mkdir(parents=True)
    fake = FakeQemu(
        qmp.qmp_socket(fiori),
        {
            "set_link": {},
            "human-monitor-command": "Error: Device 'drive0' is writable but does not support snapshots",
            "system_reset": {"class": "GenericError", "desc": "no reset today"},
        },
    )
    try:
        qmp.set_cable(fiori, "lan", connected=False)
        assert fake.requests[-2:] == [
            {"execute": "qmp_capabilities"},
            {"execute": "set_link", "arguments": {"name": "lan", "up": False}},
        ]
        with pytest.raises(qmp.QmpError, match="does not support snapshots"):
            qmp.human(fiori, "savevm converged")
        with pytest.raises(qmp.QmpError, match="fiori: system_reset: no reset today"):
            qmp.hard_reset(fiori)
        with pytest.raises(ValueError, match="no cable 'link'"):
            qmp.set_cable(guest("client"), "link", connected=True)
    finally:
        fake.close()


def test_qemu_command_names_the_cables_and_the_qmp_socket(lab_dir: Path) -> None:
    command = machines.qemu_command(guest("torchio"), Path("/images"))
    joined = " ".join(command)
    assert f"unix:{lab_dir / 'run' / 'torchio.qmp'},server=on,wait=off" in joined
    assert "virtio-net-pci,id=lan,netdev=lan-net" in joined
    assert "virtio-net-pci,id=link,netdev=link-net" in joined


def test_an_upgraded_guest_boots_the_new_releases_kernel_until_its_disks_are_reset(
    lab_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    torchio = guest("torchio")
    command = " ".join(machines.qemu_command(torchio, Path("/images/old")))
    assert "-kernel /images/old/vmlinuz -initrd /images/old/initrd.img" in command
    torchio.run_dir.mkdir(parents=True)
    machines.kernel_file(torchio).write_text("/images/new\n")
    command = " ".join(machines.qemu_command(torchio, Path("/images/old")))
    assert "-kernel /images/new/vmlinuz -initrd /images/new/initrd.img" in command
    # The disks (/images/old's) are still the guest's own.
    assert f"file={torchio.root_disk}" in command
    monkeypatch.setattr(machines, "down", lambda names=None: None)
    monkeypatch.setattr(machines, "up", lambda names=None: None)
    machines.reset(["torchio"])
    assert not machines.kernel_file(torchio).exists()


@pytest.mark.skipif(shutil.which("qemu-img") is None, reason="qemu-img is not installed")
def test_a_snapshot_keeps_the_disks_of_a_powered_off_guest(lab_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """fiori is off, torchio and client run: the save records fiori as off with its disks; the
    load powers fiori off again and puts its disks back, whatever was written since."""
    fiori = guest("fiori")
    fiori.root_disk.parent.mkdir(parents=True)
    for disk in machines.guest_disks(fiori):
        subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(disk), "1M"], check=True)
        subprocess.run(["qemu-io", "-c", "write -P 0x11 0 4k", str(disk)], check=True, capture_output=True)
    (lab_dir / "run").mkdir()
    running = {"torchio", "client"}
    switches: list[str] = []
    monkeypatch.setattr(machines, "guest_pid", lambda g: 4242 if g.name in running else None)
    monkeypatch.setattr(machines, "guest_uptime", lambda g, before="true": 100.0)
    monkeypatch.setattr(machines, "drop_ssh_master", lambda name: None)
    monkeypatch.setattr(machines, "build_image", lambda: Path("/images"))
    monkeypatch.setattr(machines, "start_guest", lambda g, image: None)
    monkeypatch.setattr(machines, "start_switch", lambda name: switches.append(name))
    monkeypatch.setattr(machines, "set_clock", lambda g: None)
    vm_saves: list[list[str]] = []
    vm_loads: list[list[str]] = []

    def recorded(calls: list[list[str]]) -> Callable[..., float]:
        def record(guests: list[Guest], tag: str, then: Callable[[], None] | None = None) -> float:
            calls.append([g.name for g in guests])
            if then is not None:
                then()
            return 0.0

        return record

    monkeypatch.setattr(qmp, "save_snapshot", recorded(vm_saves))
    monkeypatch.setattr(qmp, "load_snapshot", recorded(vm_loads))

    machines.save_snapshot("waits")
    assert machines.snapshot_record("waits").read_text().splitlines() == ["torchio 100", "client 100", "fiori off"]
    assert vm_saves == [["torchio", "client"]]

    # fiori boots and writes; the load must take it back to its disks at the save, powered off.
    for disk in machines.guest_disks(fiori):
        subprocess.run(["qemu-io", "-c", "write -P 0x22 0 4k", str(disk)], check=True, capture_output=True)
    running.add("fiori")
    stopped: list[str] = []
    monkeypatch.setattr(qmp, "power_off", lambda g: stopped.append(g.name))
    monkeypatch.setattr(machines, "_stop_pid", lambda pid_file: running.discard(pid_file.stem))
    machines.load_snapshot("waits")
    assert stopped == ["fiori"] and "fiori" not in running
    # The running guests' qemu needs the switches (gone after `lab down`).
    assert switches == ["lan", "link"]
    assert vm_loads == [["torchio", "client"]]
    for disk in machines.guest_disks(fiori):
        read = subprocess.run(["qemu-io", "-c", "read -P 0x11 0 4k", str(disk)], capture_output=True, text=True)
        assert "Pattern verification failed" not in read.stdout and read.returncode == 0, read.stdout
    # Saved again under the same tag: the disks' old snapshot is replaced, not doubled.
    running.discard("fiori")
    machines.save_snapshot("waits")
    listing = subprocess.run(["qemu-img", "snapshot", "-l", str(fiori.root_disk)], capture_output=True, text=True)
    assert listing.stdout.count(" waits ") == 1, listing.stdout

    # Saved with --export, then imported by a second lab beside this one: the same disks and
    # record, and the guests' host keys pinned on the second lab's ports.
    running.discard("fiori")
    for name in ["torchio-root.qcow2", "torchio-data.qcow2", "client-root.qcow2"]:
        subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(lab_dir / "disks" / name), "1M"], check=True)
    (lab_dir / "known_hosts").write_text(
        "".join(
            f"[127.0.0.1]:{guest(name).ssh_port} ssh-ed25519 AAAA{name}\n" for name in ("fiori", "torchio", "client")
        )
    )
    machines.save_snapshot("waits", export=True)
    exported = lab_dir / "exports" / "waits"
    assert (exported / "record").read_text() == machines.snapshot_record("waits").read_text()
    second = lab_dir / "second"
    monkeypatch.setenv("TWINSTORE_LAB_DIR", str(second))
    monkeypatch.setenv("TWINSTORE_LAB_SHARED", str(lab_dir))
    monkeypatch.setenv("TWINSTORE_LAB_SSH_PORT", "2231")
    monkeypatch.setattr(machines, "down", lambda names=None: None)
    loaded: list[str] = []

    def load(tag: str) -> float:
        loaded.append(tag)
        return 0.0

    monkeypatch.setattr(machines, "load_snapshot", load)
    machines.import_snapshot("waits")
    assert loaded == ["waits"]
    assert machines.snapshot_record("waits") == second / "run" / "snapshot-waits"
    assert machines.snapshot_record("waits").read_text() == (exported / "record").read_text()
    for disk in machines.guest_disks(fiori):
        assert disk.parent == second / "disks"
        read = subprocess.run(["qemu-io", "-c", "read -P 0x11 0 4k", str(disk)], capture_output=True, text=True)
        assert "Pattern verification failed" not in read.stdout and read.returncode == 0, read.stdout
    assert (second / "known_hosts").read_text().splitlines()[0] == "[127.0.0.1]:2231 ssh-ed25519 AAAAfiori"
    assert machines.ssh_key() == lab_dir / "id_ed25519"


def test_a_second_lab_beside_this_one_is_not_taken_for_it(lab_dir: Path) -> None:
    # The second lab of a parallel test run lives in a directory whose name begins with this one's.
    assert machines.names_this_lab(f"qemu-system-x86_64 -pidfile {lab_dir}/run/fiori.pid")
    assert machines.names_this_lab(f"vde_switch -s {lab_dir}/run/lan.switch -d -p {lab_dir}/run/lan.switch.pid")
    assert not machines.names_this_lab(f"qemu-system-x86_64 -pidfile {lab_dir}-gw1/run/fiori.pid")
    # A copied lab's guests boot the kernel in the first lab's images.
    assert not machines.names_this_lab(
        f"qemu-system-x86_64 -kernel {lab_dir}/images/base-x/vmlinuz -pidfile {lab_dir}-gw2/run/fiori.pid"
    )


def test_a_guest_booting_again_leaves_the_others_pinned_keys(lab_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """fiori and client were loaded from a snapshot (nothing on their consoles); torchio boots and
    prints its key: the known_hosts written then still pins fiori's and client's keys."""
    (lab_dir / "run").mkdir()
    pinned = {name: f"ssh-ed25519 AAAA{name}" for name in ("fiori", "torchio", "client")}
    machines.write_ssh_files(pinned)
    torchio = guest("torchio")
    torchio.console_log.write_text("TWINSTORE-HOSTKEY ssh-ed25519 AAAAtorchio\n")
    monkeypatch.setattr(machines, "guest_pid", lambda g: 4242)
    monkeypatch.setattr(machines, "ssh_ready", lambda name: True)
    machines.wait_for_guests([torchio], timeout=5)
    assert machines.pinned_keys() == pinned


def test_lab_up_on_guests_loaded_from_a_snapshot_keeps_their_pinned_keys(
    lab_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`lab up` (TWINSTORE_LAB_REUSE) on guests loaded from a snapshot: nothing on any console,
    so each is reached with the key pinned for it, and none of the pins is dropped."""
    (lab_dir / "run").mkdir()
    pinned = {name: f"ssh-ed25519 AAAA{name}" for name in ("fiori", "torchio", "client")}
    machines.write_ssh_files(pinned)
    monkeypatch.setattr(machines, "guest_pid", lambda g: 4242)
    monkeypatch.setattr(machines, "ssh_ready", lambda name: True)
    machines.wait_for_guests([guest("fiori"), guest("torchio"), guest("client")], timeout=5)
    assert machines.pinned_keys() == pinned


def test_new_data_disks_hold_old_bytes_that_differ_between_the_nodes_and_spare_every_volume_head() -> None:
    writes = {node.name: machines.old_bytes(node) for node in FIRST_PAIR_AND_CLIENT if node.storage}
    patterns = {name: {command.split()[3] for command in commands[1::2]} for name, commands in writes.items()}
    assert all(len(pattern) == 1 for pattern in patterns.values())
    assert len({pattern.pop() for pattern in patterns.values()}) == len(writes), "each node its own bytes"
    offsets = [int(command.split()[4].removesuffix("M")) for command in writes["fiori"][1::2]]
    assert len(offsets) == 32 and max(offsets) < 8192
    # A logical volume starts at 1 MiB + k * 4 MiB; 64 KiB written at another whole MiB never
    # reaches a volume's first 68 KiB (what the blank checks read).
    for offset in offsets:
        assert (offset - 1) % 4 != 0, offset
