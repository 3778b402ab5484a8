"""Start, stop and reach the lab's qemu guests.

Networks never touch the host's IP stack: management is qemu user networking with
restrict=on and SSH forwarded on 127.0.0.1 only; the LAN and the back-to-back link are
vde switches, which are plain unix sockets. A vde switch (rather than a qemu stream
socket) carries the back-to-back link because it survives one guest being restarted.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from lab import qmp
from lab.bmc import make_certificate
from lab.image import build_image, disk_image, ensure_ssh_key, run
from lab.qmp import qmp_socket
from lab.settings import (
    ALL_GUESTS,
    DATA_DISK_SIZE,
    GUESTS,
    LAN_PREFIX,
    Guest,
    address_space_randomized,
    bmc_password_file,
    known_hosts,
    lab_dir,
    shared_dir,
    ssh_config,
    ssh_key,
)

HOSTKEY_MARKER = "TWINSTORE-HOSTKEY "
BOOT_TIMEOUT_S = 240
REPOSITORY = Path(__file__).resolve().parents[1]
# The guests share the host's cores under TCG: five boot in about 5 minutes on 2 cores.
BOOT_TIMEOUT_PER_GUEST_S = 80


def boot_timeout(guest_count: int) -> float:
    return max(BOOT_TIMEOUT_S, BOOT_TIMEOUT_PER_GUEST_S * guest_count)


def run_dir() -> Path:
    return lab_dir() / "run"


def switch_dir(name: str) -> Path:
    return run_dir() / f"{name}.switch"


def _read_pid(pid_file: Path) -> int | None:
    try:
        pid = int(pid_file.read_text().strip())
    except (FileNotFoundError, ValueError):
        return None
    # Only a live process that is ours: its command line names our lab directory.
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except FileNotFoundError:
        return None
    return pid if names_this_lab(cmdline) else None


def names_this_lab(cmdline: str) -> bool:
    """Whether a guest's or a switch's command line names this lab's run directory (its pid file,
    its socket): not another lab's, whose directory name may begin with this one's, and whose
    guests boot the kernel in this lab's images (a copied lab shares the first one's directory
    for its image, key and secrets)."""
    return f"{run_dir()}/" in cmdline


def guest_pid(guest: Guest) -> int | None:
    return _read_pid(guest.pid_file)


def _stop_pid(pid_file: Path, timeout: float = 20.0) -> None:
    pid = _read_pid(pid_file)
    if pid is not None:
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        if Path(f"/proc/{pid}").exists():
            os.kill(pid, signal.SIGKILL)
    pid_file.unlink(missing_ok=True)


def start_switch(name: str) -> None:
    pid_file = run_dir() / f"{name}.switch.pid"
    if _read_pid(pid_file) is not None:
        return
    run(["vde_switch", "-s", str(switch_dir(name)), "-d", "-p", str(pid_file)], stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while not (switch_dir(name) / "ctl").exists() and time.monotonic() < deadline:
        time.sleep(0.1)


def backing_file(disk: Path) -> str | None:
    info = subprocess.run(
        ["qemu-img", "info", "--output=json", "-U", str(disk)], capture_output=True, text=True, check=True
    )
    backing: str | None = json.loads(info.stdout).get("backing-filename")
    return backing


def same_recipe(disk: Path, image: Path) -> bool:
    """Whether an overlay is backed by one of this recipe's images (its role's, or the plain one
    of a guest reset with TWINSTORE_LAB_PREINSTALL=0: started again without it, it stays the same
    guest), written before the overlay was last used."""
    backing = backing_file(disk)
    if backing is None or Path(backing).parent != image or not Path(backing).exists():
        return False
    # The same recipe built again (its cache was removed): an overlay last used before the
    # new base was written holds blocks of the old one.
    return disk.stat().st_mtime >= Path(backing).stat().st_mtime


def make_disks(guest: Guest, image: Path) -> None:
    guest.root_disk.parent.mkdir(parents=True, exist_ok=True)
    base = disk_image(image, guest.storage)
    if guest.root_disk.exists() and not same_recipe(guest.root_disk, image):
        # A new base image means a new guest: its old disks belong to a machine that is gone.
        print(f"lab: {guest.name}: base image changed, fresh disks")
        guest.root_disk.unlink()
        guest.data_disk.unlink(missing_ok=True)
    if not guest.root_disk.exists():
        run(
            [
                "qemu-img",
                "create",
                "-q",
                "-f",
                "qcow2",
                "-b",
                str(base),
                "-F",
                "raw",
                str(guest.root_disk),
            ]
        )
    if guest.storage and not guest.data_disk.exists():
        run(["qemu-img", "create", "-q", "-f", "qcow2", str(guest.data_disk), DATA_DISK_SIZE])
        run(["qemu-io", "-f", "qcow2", *old_bytes(guest), str(guest.data_disk)])


def old_bytes(guest: Guest) -> list[str]:
    """qemu-io commands that leave bytes on a new data disk, as a used disk holds: 64 KiB of the
    guest's own pattern every 256 MiB of the first 8 GiB, so the two nodes' disks differ where a
    new pair is built, as real disks do (a pair built without zeroing its volumes first verifies
    with differences). Never at a logical volume's head, which LVM puts at 1 MiB plus a multiple
    of 4 MiB: the blank checks before create-md and mkfs look there."""
    pattern = 0x11 * (guest.index + 1)
    commands = []
    for offset in range(128, 8192, 256):
        commands += ["-c", f"write -q -P {pattern} {offset}M 64k"]
    return commands


def kernel_file(guest: Guest) -> Path:
    return guest.run_dir / f"{guest.name}.kernel"


def kernel_dir(guest: Guest, image: Path) -> Path:
    """Where the kernel and initrd a guest boots are: its image's, or, once its Debian was upgraded
    in place (lab/upgrade.py), the new release's image's, named in run/NAME.kernel."""
    chosen = kernel_file(guest)
    return Path(chosen.read_text().strip()) if chosen.exists() else image


def qemu_command(guest: Guest, image: Path) -> list[str]:
    mac = f"52:54:00:5e:{guest.index:02x}"
    append = (
        # The floppy driver probing qemu's default controller once hung a guest's boot
        # (soft lockup in modprobe under TCG); the lab has no floppy and no CD-ROM.
        "root=/dev/vda rw console=ttyS0 net.ifnames=0 quiet modprobe.blacklist=floppy "
        # Under TCG the TSC follows the qemu process's age, not the guest's saved state: a
        # snapshot loaded 20 minutes after its save made every kernel timeout (o2net, DRBD's
        # ping, RCU) fire at once. The HPET counter is part of the saved state and resumes.
        "clocksource=hpet tsc=unstable "
        f"twinstore.hostname={guest.name} twinstore.lan={guest.lan_address}/{LAN_PREFIX}"
    )
    if not address_space_randomized():
        # QEMU's TCG (7.2) finds the code it translated by virtual address as well as physical:
        # with ASLR, ld.so and libc sit at new addresses in every process, so every program start
        # translated them again (the figures: docs/measurements.md).
        append += " norandmaps"
    command = [
        "qemu-system-x86_64",
        "-name", f"twinstore-lab-{guest.name}",
        "-nodefaults",
        "-accel", "tcg,thread=multi",
        # Not "max": with every feature TCG can emulate (5-level paging among them), guests
        # rebooted two at a time crawled in soft lockups for more than 10 minutes.
        "-cpu", "qemu64",
        # One vCPU: two made a guest booting alone 1.65 times faster, but with the host's two
        # cores shared by six vCPU threads a converge took 678 s instead of 551 s and three
        # guests booting at once 184 s instead of 147 s (bench/results/lab-vcpus-*.json).
        "-smp", "1",
        "-m", str(guest.memory_mib),
        "-kernel", str(kernel_dir(guest, image) / "vmlinuz"),
        "-initrd", str(kernel_dir(guest, image) / "initrd.img"),
        "-append", append,
        "-drive", f"file={guest.root_disk},if=virtio,format=qcow2,cache=unsafe",
        "-netdev", f"user,id=mgmt,restrict=on,hostfwd=tcp:127.0.0.1:{guest.ssh_port}-:22{bmc_forwards(guest)}",
        "-device", f"virtio-net-pci,netdev=mgmt,mac={mac}:00",
        # NIC ids are the cable names lab/qmp.py pulls and plugs back (set_link).
        "-netdev", f"vde,id=lan-net,sock={switch_dir('lan')}",
        "-device", f"virtio-net-pci,id=lan,netdev=lan-net,mac={mac}:01",
        "-object", "rng-random,filename=/dev/urandom,id=rng0",
        "-device", "virtio-rng-pci,rng=rng0",
        "-display", "none",
        "-serial", f"file:{guest.console_log}",
        "-qmp", f"unix:{qmp_socket(guest)},server=on,wait=off",
        "-pidfile", str(guest.pid_file),
        "-daemonize",
    ]  # fmt: skip
    if guest.storage:
        command += [
            "-drive", f"file={guest.data_disk},if=virtio,format=qcow2,cache=unsafe",
            "-netdev", f"vde,id=link-net,sock={switch_dir('link')}",
            "-device", f"virtio-net-pci,id=link,netdev=link-net,mac={mac}:02",
        ]  # fmt: skip
    return command


def bmc_forwards(guest: Guest) -> str:
    """A storage guest's way to every storage guest's BMC (lab/bmc.py), over its management
    network: qemu runs the BMC for each connection to bmc_address:443. Not on the LAN and not
    on the back-to-back cable, which the fault scenarios pull."""
    if not guest.storage:
        return ""
    forwards = ""
    for target in ALL_GUESTS:
        if target.storage:
            # qemu splits the command at blanks and its options at commas; the paths hold neither.
            python = f"{sys.executable} -m lab.bmc {target.name}"
            where = f"TWINSTORE_LAB_DIR={lab_dir()} TWINSTORE_LAB_SHARED={shared_dir()}"
            command = f"env PYTHONPATH={REPOSITORY} {where} {python}"
            if "," in command or len(command.split()) != 8:
                raise ValueError(f"the BMC command {command!r} holds a comma or a blank in a path")
            forwards += f",guestfwd=tcp:{target.bmc_address}:443-cmd:{command}"
    return forwards


def start_guest(guest: Guest, image: Path) -> None:
    if guest_pid(guest) is not None:
        return
    make_disks(guest, image)
    if guest.storage:
        make_certificate()
        bmc_password_file(guest.name)
    guest.console_log.unlink(missing_ok=True)
    run(qemu_command(guest, image))


def host_key_from_console(guest: Guest) -> str | None:
    try:
        text = guest.console_log.read_text(errors="replace")
    except FileNotFoundError:
        return None
    keys = [line.split(HOSTKEY_MARKER, 1)[1].strip() for line in text.splitlines() if HOSTKEY_MARKER in line]
    return keys[-1] if keys else None


MAX_SOCKET_PATH = 107


def write_ssh_files(host_keys: dict[str, str]) -> None:
    """known_hosts from the keys the guests printed on their consoles, and an ssh_config."""
    lines = [f"[127.0.0.1]:{g.ssh_port} {host_keys[g.name]}" for g in GUESTS if g.name in host_keys]
    write_atomically(known_hosts(), "\n".join(lines) + "\n")
    config = []
    for g in GUESTS:
        config += [
            f"Host {g.name}",
            "    HostName 127.0.0.1",
            f"    Port {g.ssh_port}",
            "    User root",
            f"    IdentityFile {ssh_key()}",
            "    IdentitiesOnly yes",
            f"    UserKnownHostsFile {known_hosts()}",
            "    StrictHostKeyChecking yes",
            "    LogLevel ERROR",
        ]
        control_path = run_dir() / f"{g.name}.ssh"
        # One connection per guest, shared by the tests' many commands: a new SSH session
        # costs a TCG guest about 3 s, a multiplexed one 0.2 s. A guest that stops answering
        # (reset, hung) drops its master within 15 s. A socket path is limited to 107 bytes.
        if len(str(control_path)) <= MAX_SOCKET_PATH:
            config += [
                "    ControlMaster auto",
                f"    ControlPath {control_path}",
                "    ControlPersist 60s",
                "    ServerAliveInterval 5",
                "    ServerAliveCountMax 3",
            ]
        config.append("")
    write_atomically(ssh_config(), "\n".join(config))


def write_atomically(path: Path, text: str) -> None:
    """Replace a file in one step: a deploy or a test reads these while a guest's reset rewrites them."""
    temporary = path.with_name(f".{path.name}.new")
    temporary.write_text(text)
    os.replace(temporary, path)


def ssh_command(name: str, *command: str) -> list[str]:
    return ["ssh", "-F", str(ssh_config()), "-o", "BatchMode=yes", "-o", "ConnectTimeout=5", name, *command]


def ssh_ready(name: str) -> bool:
    result = subprocess.run(ssh_command(name, "true"), capture_output=True, timeout=30)
    return result.returncode == 0


def wait_for_guests(guests: list[Guest], timeout: float | None = None) -> None:
    timeout = boot_timeout(len(guests)) if timeout is None else timeout
    deadline = time.monotonic() + timeout
    host_keys: dict[str, str] = {}
    pending = list(guests)
    while pending:
        if time.monotonic() > deadline:
            names = ", ".join(g.name for g in pending)
            raise TimeoutError(f"lab: {names} did not accept SSH within {timeout:.0f} s (see {run_dir()}/*.console)")
        for guest in list(pending):
            if guest_pid(guest) is None:
                raise RuntimeError(f"lab: qemu for {guest.name} exited (see {guest.console_log})")
            # A guest loaded from a snapshot printed none on its console: it keeps its pinned key.
            key = host_key_from_console(guest) or pinned_keys().get(guest.name)
            if key is None:
                continue
            if host_keys.get(guest.name) != key:
                host_keys[guest.name] = key
                # The others keep the keys pinned for them (a guest loaded from a snapshot
                # printed none on its console).
                pinned = pinned_keys()
                others = [g for g in GUESTS if g.name not in host_keys]
                existing = {g.name: k for g in others if (k := pinned.get(g.name) or host_key_from_console(g))}
                write_ssh_files({**existing, **host_keys})
            if ssh_ready(guest.name):
                pending.remove(guest)
        time.sleep(1)


def up(names: list[str] | None = None) -> None:
    ensure_ssh_key()
    image = build_image()
    run_dir().mkdir(parents=True, exist_ok=True)
    start_switch("lan")
    start_switch("link")
    guests = [g for g in GUESTS if names is None or g.name in names]
    started = time.monotonic()
    for guest in guests:
        start_guest(guest, image)
    wait_for_guests(guests)
    print(f"lab: {', '.join(g.name for g in guests)} up in {time.monotonic() - started:.0f} s")


def down(names: list[str] | None = None) -> None:
    # Every guest the lab can run, so a lab brought up with TWINSTORE_LAB_PAIRS=2 stops whole.
    guests = [g for g in ALL_GUESTS if names is None or g.name in names]
    for guest in guests:
        _stop_pid(guest.pid_file)
    if names is None:
        for name in ("lan", "link"):
            _stop_pid(run_dir() / f"{name}.switch.pid")


def reset(names: list[str] | None = None) -> None:
    """Fresh disks for the named guests (default all), then up: seconds, thanks to qcow2 overlays."""
    down(names)
    for guest in ALL_GUESTS:
        if names is None or guest.name in names:
            guest.root_disk.unlink(missing_ok=True)
            guest.data_disk.unlink(missing_ok=True)
            kernel_file(guest).unlink(missing_ok=True)
    up(names)


def status() -> list[tuple[Guest, int | None]]:
    return [(guest, guest_pid(guest)) for guest in ALL_GUESTS if guest in GUESTS or guest_pid(guest) is not None]


def lab_qemu_pids() -> list[int]:
    """Every running qemu whose command line names this lab's directory (for tests and status)."""
    pids = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except (FileNotFoundError, PermissionError, ProcessLookupError):
            continue
        if cmdline.startswith("qemu-system") and names_this_lab(cmdline):
            pids.append(int(proc.name))
    return pids


def drop_ssh_master(name: str) -> None:
    """Close the multiplexed SSH connection to a guest whose network state just changed under it."""
    subprocess.run(["ssh", "-F", str(ssh_config()), "-O", "exit", name], capture_output=True, timeout=30, check=False)


def running_guests(names: list[str] | None = None) -> list[Guest]:
    guests = [g for g in GUESTS if names is None or g.name in names]
    missing = [g.name for g in guests if guest_pid(g) is None]
    if missing:
        raise RuntimeError(f"lab: {', '.join(missing)} not running")
    return guests


def power_off(names: list[str]) -> None:
    """Cut the power of guests at once: no shutdown, memory lost, disks kept (`lab up` boots them)."""
    guests = running_guests(names)
    for guest in guests:
        qmp.power_off(guest)
    for guest in guests:
        deadline = time.monotonic() + 30
        while guest_pid(guest) is not None and time.monotonic() < deadline:
            time.sleep(0.1)
        if guest_pid(guest) is not None:
            raise RuntimeError(f"lab: {guest.name} is still running after its power cut")
        drop_ssh_master(guest.name)


def set_cable(name: str, cable: str, connected: bool) -> None:
    """Pull a guest's cable (lan, or the back-to-back link) or plug it back in."""
    (guest,) = running_guests([name])
    qmp.set_cable(guest, cable, connected)


def freeze(names: list[str], frozen: bool) -> None:
    """Pause guests (a hung machine: nothing answers, nothing is lost) or let them run again."""
    for guest in running_guests(names):
        if frozen:
            qmp.pause(guest)
        else:
            qmp.resume(guest)
        drop_ssh_master(guest.name)


def hard_reset(names: list[str]) -> None:
    for guest in running_guests(names):
        qmp.hard_reset(guest)
        drop_ssh_master(guest.name)


def snapshot_record(tag: str) -> Path:
    return run_dir() / f"snapshot-{tag}"


# How a snapshot's record marks a guest that was powered off when it was saved.
POWERED_OFF = "off"


def guest_disks(guest: Guest) -> list[Path]:
    return [guest.root_disk, guest.data_disk] if guest.storage else [guest.root_disk]


def export_dir(tag: str) -> Path:
    """Where a snapshot exported for a second lab lies (`snapshot save --export`)."""
    return shared_dir() / "exports" / tag


def save_snapshot(tag: str, export: bool = False) -> float:
    """Save the lab under tag: every running guest's memory and disks, all paused together, and
    the disks of a guest powered off (a scenario's state with a node down); return seconds.

    With export, a copy of the saved disks is also put in export_dir(tag), taken while the guests
    are still paused (a disk in use is no file to copy), for a second lab to import."""
    started = time.monotonic()
    running = [g for g in GUESTS if guest_pid(g) is not None]
    if not running:
        raise RuntimeError("lab: no guest is running, nothing to save")
    off = [g for g in GUESTS if g not in running and g.root_disk.exists()]
    uptimes = {}
    for guest in running:
        # What the guest wrote is still in its page cache for up to 30 s: a snapshot then
        # loaded and powered off soon after would lose it (seen: a deploy's new files empty).
        uptimes[guest.name] = f"{guest_uptime(guest, 'sync'):.0f}"
        drop_ssh_master(guest.name)
    for guest in off:
        for disk in guest_disks(guest):
            # An internal snapshot of a closed disk; a tag saved before is replaced.
            subprocess.run(["qemu-img", "snapshot", "-d", tag, str(disk)], capture_output=True, check=False)
            run(["qemu-img", "snapshot", "-c", tag, str(disk)])
        uptimes[guest.name] = POWERED_OFF
    record = "".join(f"{name} {uptime}\n" for name, uptime in uptimes.items())
    guests = running + off
    qmp.save_snapshot(running, tag, then=(lambda: _export(tag, guests, record)) if export else None)
    snapshot_record(tag).write_text(record)
    return time.monotonic() - started


def _export(tag: str, guests: list[Guest], record: str) -> None:
    target = export_dir(tag)
    partial = target.with_name(f".{tag}.partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    for guest in guests:
        for disk in guest_disks(guest):
            run(["cp", "--sparse=always", str(disk), str(partial / disk.name)])
    # The guests' host keys, by name: the second lab reaches the same guests on other ports.
    keys = pinned_keys()
    (partial / "host_keys").write_text("".join(f"{g.name} {keys[g.name]}\n" for g in guests if g.name in keys))
    (partial / "record").write_text(record)
    shutil.rmtree(target, ignore_errors=True)
    os.replace(partial, target)


def _known_host_lines() -> list[tuple[str, str]]:
    try:
        text = known_hosts().read_text()
    except FileNotFoundError:
        return []
    return [(host, key) for host, _, key in (line.partition(" ") for line in text.splitlines()) if key]


def pinned_keys() -> dict[str, str]:
    """The host key pinned in known_hosts for each guest, by name."""
    ports = {f"[127.0.0.1]:{g.ssh_port}": g.name for g in ALL_GUESTS}
    return {ports[host]: key for host, key in _known_host_lines() if host in ports}


def import_snapshot(tag: str) -> float:
    """Make this lab a copy of the one that exported tag (`snapshot save --export`) and load it:
    this lab's guests stopped, the exported disks put in their place; return seconds."""
    source = export_dir(tag)
    if not (source / "record").exists():
        raise RuntimeError(f"lab: no exported snapshot {tag!r} in {source.parent}")
    started = time.monotonic()
    down()
    saved = dict(line.split() for line in (source / "record").read_text().splitlines())
    for guest in ALL_GUESTS:
        if guest.name in saved:
            guest.root_disk.parent.mkdir(parents=True, exist_ok=True)
            for disk in guest_disks(guest):
                run(["cp", "--sparse=always", str(source / disk.name), str(disk)])
    run_dir().mkdir(parents=True, exist_ok=True)
    snapshot_record(tag).write_text((source / "record").read_text())
    keys = dict(line.split(" ", 1) for line in (source / "host_keys").read_text().splitlines())
    write_ssh_files(keys)
    load_snapshot(tag)
    return time.monotonic() - started


def guest_uptime(guest: Guest, before: str = "true") -> float:
    """Seconds since the guest's boot by its own monotonic clock, after running the command before."""
    result = subprocess.run(
        ssh_command(guest.name, f"{before} && cut -d' ' -f1 /proc/uptime"),
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return float(result.stdout.split()[-1])


def load_snapshot(tag: str) -> float:
    """Put the guests saved under tag back as they were (booting qemu for those powered off since,
    powering off those that were off then); return seconds.

    The guests' clocks restart from the snapshot's time, so each is set to the host's time after.
    """
    try:
        saved = dict(line.split() for line in snapshot_record(tag).read_text().splitlines())
    except FileNotFoundError:
        raise RuntimeError(f"lab: no snapshot {tag!r} (python -m lab snapshot save {tag})") from None
    started = time.monotonic()
    image = build_image()
    off = [g for g in ALL_GUESTS if saved.get(g.name) == POWERED_OFF]
    for each in off:
        # Powered off again (if it runs), then its disks put back as they were saved.
        if guest_pid(each) is not None:
            qmp.power_off(each)
            _stop_pid(each.pid_file)
        drop_ssh_master(each.name)
        for disk in guest_disks(each):
            run(["qemu-img", "snapshot", "-a", tag, str(disk)])
    guests = [g for g in ALL_GUESTS if g.name in saved and g not in off]
    # After `lab down` the switches are gone too, and a guest's qemu does not start without them.
    run_dir().mkdir(parents=True, exist_ok=True)
    start_switch("lan")
    start_switch("link")
    for each in guests:
        # loadvm needs a qemu process with the same devices: a guest powered off gets one again.
        start_guest(each, image)
    qmp.load_snapshot(guests, tag)
    for each in guests:
        drop_ssh_master(each.name)
        set_clock(each)
        # A guest whose monotonic clock jumped at the load would act as if the time since the
        # save had passed in an instant (every timeout at once): a scenario run on it proves nothing.
        jump = guest_uptime(each) - float(saved[each.name])
        if not 0 <= jump < LOAD_CLOCK_SLACK_S:
            raise RuntimeError(
                f"lab: {each.name}'s monotonic clock moved {jump:.0f} s across the load of {tag!r}"
                f" (at most {LOAD_CLOCK_SLACK_S} s expected): its kernel did not resume where it was saved"
            )
    return time.monotonic() - started


# The guest runs between the save's uptime read and the pause, and after the load until it
# answers over SSH (which can take a while under load).
LOAD_CLOCK_SLACK_S = 180


def set_clock(guest: Guest, timeout: float = 120) -> None:
    """Set a guest's clock to the host's. Right after a loadvm its SSH may not answer for a while
    (a fresh-clone run saw ssh fail at once after three loads in a row): retried until timeout."""
    deadline = time.monotonic() + timeout
    while True:
        result = subprocess.run(
            ssh_command(guest.name, "date", "-s", f"@{time.time():.0f}"),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        if result.returncode == 0:
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"lab: {guest.name} did not answer over SSH after loadvm: {result.stderr.strip()}")
        drop_ssh_master(guest.name)
        time.sleep(3)
