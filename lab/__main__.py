"""python -m lab up|down|reset|ssh NODE|status"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys

from lab import machines
from lab.settings import GUESTS, lab_dir, ssh_config


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
    commands.add_parser("state", help="the storage cluster's state: DRBD, volumes, mounts, exports")
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
