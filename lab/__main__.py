"""python -m lab up|down|reset|image|upgrade-repo|ssh|status|state|poweroff|cable|bmc|freeze|thaw|reset-button|snapshot

Faults for a person trying them by hand (the tests use the same commands):

    python -m lab poweroff torchio          # power cut: no shutdown; `python -m lab up torchio` boots it
    python -m lab cable torchio lan down    # pull torchio's LAN cable (or `link`, the back-to-back one)
    python -m lab cable torchio lan up      # plug it back in
    python -m lab bmc torchio down          # torchio's BMC answers nothing (a fence agent fails)
    python -m lab bmc torchio hang          # it holds each request, answering nothing (a hung BMC)
    python -m lab freeze fiori              # fiori hangs (paused); `python -m lab thaw fiori` resumes it
    python -m lab reset-button fiori        # hard reset: reboots at once, no shutdown
    python -m lab snapshot save NAME        # every running guest, memory and disks, paused together
    python -m lab snapshot load NAME        # back to it in seconds; guests' clocks set to now

A second lab beside the first (TWINSTORE_LAB_DIR, TWINSTORE_LAB_SSH_PORT, and TWINSTORE_LAB_SHARED
naming the first one's directory) shares its image, key and secrets, and starts as a copy of it:

    python -m lab snapshot save NAME --export    # in the first lab: saved, and copied for the second
    python -m lab snapshot import NAME           # in the second lab: the copy, loaded
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys

from lab import machines
from lab.bmc import BMC_STATES, set_state
from lab.image import build_image
from lab.settings import GUESTS, lab_dir, ssh_config
from lab.upgrade import build_upgrade_repo


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m lab", description="The twinstore lab: three Debian guests under qemu."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    for name, text in (
        ("up", "build the base image if needed, boot the guests, wait for SSH"),
        ("down", "stop the lab's qemu processes (by their pid files)"),
        ("reset", "give guests fresh disks and boot them"),
    ):
        command = commands.add_parser(name, help=text)
        command.add_argument("guests", nargs="*", help="only these guests (default: all)")
    ssh = commands.add_parser("ssh", help="open a shell on a guest, or run a command there")
    ssh.add_argument("guest", choices=[g.name for g in GUESTS])
    ssh.add_argument("remote", nargs=argparse.REMAINDER)
    commands.add_parser("status", help="which guests run, and how to reach them")
    for name, text in (
        ("poweroff", "cut the guests' power: no shutdown, memory lost, disks kept"),
        ("freeze", "pause the guests: they hang, nothing answers"),
        ("thaw", "let frozen guests run again"),
        ("reset-button", "hard-reset the guests: they reboot at once, without a shutdown"),
    ):
        command = commands.add_parser(name, help=text)
        command.add_argument("guests", nargs="+", choices=[g.name for g in GUESTS])
    cable = commands.add_parser("cable", help="pull a guest's network cable, or plug it back in")
    cable.add_argument("guest", choices=[g.name for g in GUESTS])
    cable.add_argument("cable", choices=["lan", "link"], help="lan, or link: the storage guests' back-to-back cable")
    cable.add_argument("state", choices=["down", "up"])
    bmc = commands.add_parser("bmc", help="make a storage guest's BMC unreachable or hung, or answer again")
    bmc.add_argument("guest", choices=[g.name for g in GUESTS if g.storage])
    bmc.add_argument("state", choices=BMC_STATES)
    snapshot = commands.add_parser("snapshot", help="save or load every running guest, memory and disks")
    snapshot.add_argument("action", choices=["save", "load", "import"])
    snapshot.add_argument("tag", help="the snapshot's name")
    snapshot.add_argument(
        "--export", action="store_true", help="save: also copy it for a second lab (TWINSTORE_LAB_SHARED) to import"
    )
    commands.add_parser("state", help="the storage cluster's state: DRBD, volumes, mounts, exports")
    commands.add_parser("image", help="build the base image if needed (the release TWINSTORE_LAB_RELEASE names)")
    commands.add_parser("upgrade-repo", help="build the packages of a Debian 12 storage guest's upgrade to 13")
    args = parser.parse_args(argv)

    names = getattr(args, "guests", None) or None
    if args.command == "up":
        machines.up(names)
        print_access()
    elif args.command == "down":
        machines.down(names)
    elif args.command == "reset":
        machines.reset(names)
        print_access()
    elif args.command == "ssh":
        argv_ssh = machines.ssh_command(args.guest, *args.remote)
        os.execvp(argv_ssh[0], argv_ssh)
    elif args.command == "state":
        return print_cluster_state()
    elif args.command == "image":
        print(f"lab: image {build_image()}")
    elif args.command == "upgrade-repo":
        print(f"lab: upgrade repository {build_upgrade_repo()}")
    elif args.command == "poweroff":
        machines.power_off(args.guests)
    elif args.command in ("freeze", "thaw"):
        machines.freeze(args.guests, frozen=args.command == "freeze")
    elif args.command == "reset-button":
        machines.hard_reset(args.guests)
    elif args.command == "cable":
        machines.set_cable(args.guest, args.cable, connected=args.state == "up")
    elif args.command == "bmc":
        set_state(args.guest, args.state)
    elif args.command == "snapshot":
        if args.action == "save":
            took = machines.save_snapshot(args.tag, export=args.export)
        elif args.action == "import":
            took = machines.import_snapshot(args.tag)
        else:
            took = machines.load_snapshot(args.tag)
        done = {"save": "saved", "load": "loaded", "import": "imported"}[args.action]
        print(f"lab: snapshot {args.tag} {done} in {took:.1f} s")
    elif args.command == "status":
        running = 0
        for guest, pid in machines.status():
            state = f"running (pid {pid})" if pid else "stopped"
            running += bool(pid)
            print(f"{guest.name:8} {guest.lan_address:14} ssh 127.0.0.1:{guest.ssh_port}  {state}")
        return 0 if running else 3
    return 0


CLUSTER_STATE_SCRIPT = """
echo "== DRBD"; if [ -r /proc/drbd ]; then cat /proc/drbd; else echo "(DRBD not loaded)"; fi
echo "== logical volumes"; lvs --noheadings -o lv_name,lv_size vg0 2>/dev/null || echo "(no vg0)"
echo "== mounts"; findmnt -n -l -t ext4,ocfs2 -o TARGET,SOURCE,FSTYPE,OPTIONS | grep '^/vol' || echo "(none under /vol)"
echo "== exports"; if command -v exportfs >/dev/null; then exportfs -v; else echo "(NFS server not installed)"; fi
"""


def print_cluster_state() -> int:
    worst = 0
    for guest in GUESTS:
        if not guest.storage:
            continue
        print(f"##### {guest.name}", flush=True)
        result = subprocess.run(machines.ssh_command(guest.name, CLUSTER_STATE_SCRIPT))
        worst = max(worst, result.returncode)
    return worst


def print_access() -> None:
    print(f"lab directory: {lab_dir()}")
    for guest in GUESTS:
        print(f"  {guest.name:8} LAN {guest.lan_address:14} ssh -F {ssh_config()} {guest.name}")
    print("  or: python -m lab ssh NODE;  deploy: pyinfra -y lab/inventory.py deploy.py")


if __name__ == "__main__":
    sys.exit(main())
