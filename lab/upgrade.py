"""What the lab needs to upgrade a converged Debian 12 pair to Debian 13 (scripts/upgrade).

The guests reach nothing outside the lab, so the packages of the upgrade come from a repository
built here once from the host's Debian mirror: every Debian 13 package a converged Debian 12
storage guest's `apt-get full-upgrade` fetches (found by running it, download only, in a copy of
the Debian 12 storage image), with the Debian 13 image's own repository (what the deploy installs
on 13). The lab's guests boot the kernel qemu is given: an upgraded guest boots the Debian 13
image's kernel, which must be the one the upgrade installed.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from lab import image
from lab.settings import shared_dir

FROM_RELEASE = "bookworm"
TO_RELEASE = "trixie"
# What the deploy installs on every converged storage node that the storage image leaves out.
CONVERGED_EXTRA = image.MAIL_INSTALLED_BY_THE_DEPLOY


@contextlib.contextmanager
def lab_release(codename: str) -> Iterator[None]:
    """lab/image.py's functions for the image of another release (they read TWINSTORE_LAB_RELEASE)."""
    before = os.environ.get("TWINSTORE_LAB_RELEASE")
    os.environ["TWINSTORE_LAB_RELEASE"] = codename
    try:
        yield
    finally:
        if before is None:
            del os.environ["TWINSTORE_LAB_RELEASE"]
        else:
            os.environ["TWINSTORE_LAB_RELEASE"] = before


def image_of(codename: str) -> Path:
    """The lab image of a release, built if needed."""
    with lab_release(codename):
        return image.build_image()


def repo_dir() -> Path:
    with lab_release(FROM_RELEASE):
        old = image.recipe_hash()
    with lab_release(TO_RELEASE):
        new = image.recipe_hash()
    return shared_dir() / "images" / f"upgrade-{old}-{new}"


def kernel_version(boot_image: Path) -> str:
    """The version of a kernel image file (`file` reads it from the bzImage header)."""
    described = subprocess.run(["file", "-b", str(boot_image)], capture_output=True, text=True, check=True).stdout
    return described.split("version ", 1)[1].split()[0]


@contextlib.contextmanager
def mounted(disk: Path, *options: str) -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="twinstore-upgrade-") as where:
        point = Path(where)
        image.run(["mount", "-o", ",".join(["loop", *options]), str(disk), str(point)])
        try:
            yield point
        finally:
            image.run(["umount", str(point)])


def build_upgrade_repo() -> Path:
    """The repository of the upgrade (debs and a flat Packages index), built once per pair of images."""
    old_image = image_of(FROM_RELEASE)
    new_image = image_of(TO_RELEASE)
    target = repo_dir()
    if (target / "Packages").exists():
        return target
    with image.build_lock():
        work = target.with_name(f"{target.name}.build")
        image.remove_tree(work)
        work.mkdir(parents=True)
        debs = work / "repo"
        debs.mkdir()
        disk = work / "storage.img"
        subprocess.run(["cp", "--sparse=always", str(old_image / "storage.img"), str(disk)], check=True)
        mirror = image.debian_mirror()
        print(f"lab: the packages of a {FROM_RELEASE} storage guest's upgrade, from {mirror} ...", flush=True)
        with mounted(disk) as root:
            image.install_packages(root, CONVERGED_EXTRA)
            (root / "etc" / "apt" / "sources.list").write_text(f"deb {mirror} {TO_RELEASE} main\n")
            shutil.copy("/etc/resolv.conf", root / "etc" / "resolv.conf")
            image.run(["mount", "-t", "proc", "proc", str(root / "proc")])
            try:
                image._chroot(root, "apt-get", "update", "-q")
                image._chroot(root, "apt-get", "-y", "-q", "--download-only", "full-upgrade")
            finally:
                image.run(["umount", str(root / "proc")])
            for deb in (root / "var" / "cache" / "apt" / "archives").glob("*.deb"):
                shutil.copy(deb, debs / deb.name)
        disk.unlink()
        with mounted(new_image / "storage.img", "ro") as root:
            for deb in (root / "srv" / "lab-repo").glob("*.deb"):
                shutil.copy(deb, debs / deb.name)
        version = kernel_version(new_image / "vmlinuz")
        if not list(debs.glob(f"linux-image-{version}_*.deb")):
            raise RuntimeError(
                f"lab: the upgrade would install another kernel than {version}, the {TO_RELEASE} image's "
                f"(qemu boots that one): rebuild the {TO_RELEASE} image from the same mirror"
            )
        with (debs / "Packages").open("w") as packages:
            image.run(
                ["dpkg-scanpackages", "--multiversion", ".", "/dev/null"],
                cwd=debs,
                stdout=packages,
                stderr=subprocess.DEVNULL,
            )
        image.remove_tree(target)
        debs.rename(target)
        image.remove_tree(work)
    count = len(list(target.glob("*.deb")))
    print(f"lab: upgrade repository ready: {count} packages in {target}", flush=True)
    return target


@contextlib.contextmanager
def reboots_into_new_release(name: str) -> Iterator[None]:
    """While the block runs, a reboot of the guest (the upgrade's) powers it off and this starts it
    again with the new release's kernel: qemu boots the kernel it is given, and a warm reset of a
    TCG guest would keep the old one. The guest's side is an ordinary reboot."""
    from lab import machines, qmp

    (guest,) = machines.running_guests([name])
    qmp.execute(guest, "set-action", {"reboot": "shutdown"})
    stopped = threading.Event()
    failure: list[BaseException] = []

    def restart() -> None:
        try:
            while not stopped.is_set():
                if machines.guest_pid(guest) is None:
                    machines.drop_ssh_master(name)
                    machines.kernel_file(guest).write_text(f"{image_of(TO_RELEASE)}\n")
                    machines.up([name])
                    return
                time.sleep(1)
        except BaseException as error:  # reported when the block ends
            failure.append(error)

    watcher = threading.Thread(target=restart, daemon=True)
    watcher.start()
    try:
        yield
    finally:
        stopped.set()
        watcher.join()
        if not machines.kernel_file(guest).exists() and machines.guest_pid(guest) is not None:
            # Not rebooted (the run stopped before): reboots reset the guest again.
            qmp.execute(guest, "set-action", {"reboot": "reset"})
        if failure:
            raise failure[0]
