"""python -m lab up|down|reset|ssh NODE|status"""

from __future__ import annotations

import argparse
import os
import sys

from lab import machines
from lab.settings import GUESTS, lab_dir, ssh_config


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lab", description="The twinstore lab: three Debian guests under qemu.")
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
        command = machines.ssh_command(args.guest, *args.remote)
        os.execvp(command[0], command)
    elif args.command == "status":
        running = 0
        for guest, pid in machines.status():
            state = f"running (pid {pid})" if pid else "stopped"
            running += bool(pid)
            print(f"{guest.name:8} {guest.lan_address:14} ssh 127.0.0.1:{guest.ssh_port}  {state}")
        return 0 if running else 3
    return 0


def print_access() -> None:
    print(f"lab directory: {lab_dir()}")
    for guest in GUESTS:
        print(f"  {guest.name:8} LAN {guest.lan_address:14} ssh -F {ssh_config()} {guest.name}")
    print("  or: python -m lab ssh NODE;  deploy: pyinfra -y lab/inventory.py deploy.py")


if __name__ == "__main__":
    sys.exit(main())
