"""The lab's base image: debootstrap, a local Debian repository inside, first-boot identity.

Built once and cached under a name derived from its recipe and the lab's SSH key, so a
change to either builds a new one. Guests have no network to the outside: every package
the deploy installs comes from /srv/lab-repo inside the image.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from lab import dns
from lab.settings import shared_dir, ssh_key
from twinstore.fence_agents import fence_agent_package
from twinstore.packages import MAIL_PACKAGES, NFS_CLIENT_PACKAGES, NIS_SERVER_PACKAGES, STORAGE_PACKAGES

# The Debian release the guests run, by codename (and its major version): TWINSTORE_LAB_RELEASE,
# the current stable unless set (scripts/test runs the suite's labs on Debian 12: README, "The lab").
RELEASES = {"bookworm": 12, "trixie": 13}
DEFAULT_RELEASE = "trixie"


def release() -> str:
    chosen = os.environ.get("TWINSTORE_LAB_RELEASE", DEFAULT_RELEASE)
    if chosen not in RELEASES:
        raise SystemExit(f"lab: TWINSTORE_LAB_RELEASE = {chosen!r}: one of {', '.join(RELEASES)}")
    return chosen


BASE_PACKAGES = [
    "linux-image-amd64",
    "systemd-sysv",
    "openssh-server",
    "ifupdown",
    "iproute2",
    "iputils-ping",
    # /etc/protocols and /etc/services, as on every installed Debian: mount.nfs needs them.
    "netbase",
    # Part of every standard Debian install; nfs-common needs it, and byte-compiling it on
    # first install took a minute of the converge under TCG.
    "python3",
    "udev",
    "kmod",
    "procps",
    "less",
]
# The lab's BMCs speak Redfish (lab/bmc.py; lab/group_data/storage.py names the agent), whose
# package differs between releases (twinstore/fence_agents.py).
LAB_FENCE_AGENT = "fence_redfish"


def storage_packages() -> list[str]:
    return [*STORAGE_PACKAGES, fence_agent_package(LAB_FENCE_AGENT, RELEASES[release()])]


def repo_packages() -> list[str]:
    """What the deploy installs on real machines (twinstore/packages.py, so the two cannot drift
    apart), and what the lab's own tests use: rsync is the package tests/e2e/test_sources.py
    fetches from the mirror the client serves."""
    return list(
        dict.fromkeys(
            [
                *storage_packages(),
                *MAIL_PACKAGES,
                *NIS_SERVER_PACKAGES,
                *NFS_CLIENT_PACKAGES,
                "rsync",
                "openssh-client",
            ]
        )
    )


IMAGE_SIZE = "4G"
# Each role's image also carries what the deploy would install there: dpkg under TCG was
# two thirds of a converge (10 of 16 minutes: perl, ucf and 27 systemd reloads), natively
# it is a minute. Postfix too (its install was 112 s of a storage node's converge, paid again
# by the replaced node of the legs scenario); its postinst wrote the build host's name into
# main.cf, which the identity script replaces with the guest's. bsd-mailx stays out: every
# converge on the lab keeps one real package install on each storage node.
# TWINSTORE_LAB_PREINSTALL=0 boots every guest from the plain image (a converge from a bare Debian).
MAIL_INSTALLED_BY_THE_DEPLOY = ["bsd-mailx"]
ROLES = ("storage", "client")


def role_packages() -> dict[str, list[str]]:
    return {
        "storage": [*storage_packages(), *(name for name in MAIL_PACKAGES if name not in MAIL_INSTALLED_BY_THE_DEPLOY)],
        "client": [*NIS_SERVER_PACKAGES, *NFS_CLIENT_PACKAGES, *dns.CLIENT_PACKAGES],
    }


# Files only one role's image carries: the client guest is the lab's DNS root (lab/dns.py).
ROLE_FILES: dict[str, dict[str, str]] = {"storage": {}, "client": dns.CLIENT_FILES}
# Keeps daemons from starting inside the build's chroot, that is on the machine building it.
POLICY_RC_D = "#!/bin/sh\nexit 101\n"

# Runs at every boot before sshd. The identity part runs once per fresh disk: later
# boots must not undo what the deploy configured (/etc/hosts, interfaces).
IDENTITY_SCRIPT = r"""#!/bin/sh
set -e
arg() { sed -n "s/.*\btwinstore\.$1=\([^ ]*\).*/\1/p" /proc/cmdline; }
NAME=$(arg hostname)
LAN=$(arg lan)
if [ ! -e /etc/twinstore-lab-identity ] && [ -n "$NAME" ]; then
    echo "$NAME" > /etc/hostname
    hostname "$NAME"
    printf '127.0.0.1\tlocalhost\n127.0.1.1\t%s\n' "$NAME" > /etc/hosts
    # Postfix installed in the image's build: its name, as an install on this guest would set it.
    if [ -x /usr/sbin/postconf ]; then postconf -e "myhostname=$NAME"; fi
    printf '%s\n' \
        'auto lo' 'iface lo inet loopback' '' \
        '# management: qemu user networking, restricted; SSH only' \
        'auto eth0' 'iface eth0 inet static' '    address 10.0.2.15/24' '' \
        '# the LAN segment shared by all lab guests' \
        'auto eth1' 'iface eth1 inet static' "    address $LAN" > /etc/network/interfaces
    touch /etc/twinstore-lab-identity
fi
[ -e /etc/ssh/ssh_host_ed25519_key ] || ssh-keygen -q -t ed25519 -N '' -f /etc/ssh/ssh_host_ed25519_key
echo "TWINSTORE-HOSTKEY $(cut -d' ' -f1,2 /etc/ssh/ssh_host_ed25519_key.pub)" > /dev/ttyS0
"""

IDENTITY_UNIT = """[Unit]
Description=twinstore lab: host name, addresses and SSH host keys from the kernel command line
DefaultDependencies=no
After=local-fs.target
Before=network-pre.target ssh.service
Wants=network-pre.target

[Service]
Type=oneshot
ExecStart=/usr/local/sbin/twinstore-lab-identity
RemainAfterExit=yes

[Install]
WantedBy=multi-user.target
"""

INITRAMFS_HOOK = "etc/initramfs-tools/hooks/twinstore-lab-no-udev"
# The lab boots the kernel and initrd qemu passes from outside the image, so rebuilding
# the initramfs inside a guest is useless, and under TCG it costs minutes per package.
LAB_FILES = {
    "etc/initramfs-tools/update-initramfs.conf": "update_initramfs=no\nbackup_initramfs=no\n",
    "etc/fstab": "/dev/vda / ext4 errors=remount-ro 0 1\n",
    # One host key per guest: generating the RSA one took 30-45 s of the first boot under TCG.
    "etc/ssh/sshd_config.d/twinstore-lab.conf": "HostKey /etc/ssh/ssh_host_ed25519_key\n",
    # An initramfs with only what mounts the root disk: the stock one (every driver, 35 MB)
    # took 10 s of each boot to unpack under TCG.
    "etc/initramfs-tools/conf.d/twinstore-lab.conf": "MODULES=list\nCOMPRESS=gzip\n",
    "etc/initramfs-tools/modules": "virtio_pci\nvirtio_blk\ncrc32c_generic\next4\n",
    # Under TCG systemd-udevd can start late, and ifupdown-pre's `udevadm settle` return before it
    # has run the coldplug: networking.service then found no eth0/eth1 (virtio_net not loaded
    # yet) and the guest never came on the network. Seen on Debian 13 first, and on Debian 12
    # once its boot got faster (guests without ASLR): the module is loaded early on both, by
    # systemd-modules-load.
    "etc/modules-load.d/twinstore-lab.conf": "virtio_net\n",
    # Without udev in the initramfs: its coldplug and settle took 12 s of each boot under TCG,
    # and the root disk needs none of it (the modules above are loaded by the initramfs itself,
    # devtmpfs makes /dev/vda, and wait_for_udev returns at once without udevadm). The real
    # root's udev does the coldplug as on any boot.
    INITRAMFS_HOOK: "#!/bin/sh\n"
    '[ "$1" = prereqs ] && exit 0\n'
    'rm -f "$DESTDIR/scripts/init-top/udev" "$DESTDIR/scripts/init-bottom/udev" "$DESTDIR/bin/udevadm"'
    ' "$DESTDIR/lib/systemd/systemd-udevd"\n',
    # nfs-common's rule runs nfsrahead for every backing device added (16 at a storage node's
    # boot, 7 s of its one CPU under TCG: systemd issue 23333); it only tunes NFS mounts, whose
    # backing devices are the anonymous ones (major 0).
    "etc/udev/rules.d/99-nfs.rules": 'SUBSYSTEM=="bdi", ACTION=="add", KERNEL=="0:*", '
    'PROGRAM="/usr/libexec/nfsrahead %k", ATTR{read_ahead_kb}="%c"\n',
    # Postfix's own flag for a start without its integrity check (post-install and find over
    # the queue: 11 s of a storage guest's CPU at each start under TCG), once the check has
    # made the queue whole: the first start after the image is built still runs it, since it is
    # the check that creates the hold and trace queues.
    "etc/systemd/system/postfix@-.service.d/twinstore-lab.conf": "[Service]\n"
    "ExecStartPre=-/bin/sh -c 'cd /var/spool/postfix && test -d hold && test -d trace && touch quick-start'\n",
}

# Background jobs that would make guests busy or change things between two deploy runs.
MASKED_UNITS = [
    "apt-daily.timer",
    "apt-daily-upgrade.timer",
    "e2scrub_all.timer",
    # Boot-time jobs that only compete for the guest's one CPU (e2scrub_reap took 42 s).
    "e2scrub_reap.service",
    "getty-static.service",
    "fstrim.timer",
    "man-db.timer",
    "systemd-timesyncd.service",
    # Eight loop devices nobody uses, each a block and a bdi event for udev at every boot.
    "modprobe@loop.service",
]

# Generators for what no lab guest has (encrypted, integrity or verity volumes, a GPT root,
# hibernation, a system update, units on the kernel command line): systemd runs each of them at
# every boot and at every daemon-reload, 0.2-0.4 s of a TCG guest's CPU apiece.
MASKED_GENERATORS = [
    "systemd-cryptsetup-generator",
    "systemd-integritysetup-generator",
    "systemd-veritysetup-generator",
    "systemd-gpt-auto-generator",
    "systemd-hibernate-resume-generator",
    "systemd-system-update-generator",
    "systemd-run-generator",
    "systemd-debug-generator",
]


def recipe_hash() -> str:
    recipe = "\n".join(
        [
            release(),
            *BASE_PACKAGES,
            "--",
            *repo_packages(),
            repr(role_packages()),
            IMAGE_SIZE,
            IDENTITY_SCRIPT,
            IDENTITY_UNIT,
            *MASKED_UNITS,
            *MASKED_GENERATORS,
            repr(LAB_FILES),
            repr(ROLE_FILES),
        ]
    )
    digest = hashlib.sha256(recipe.encode())
    digest.update(Path(f"{ssh_key()}.pub").read_bytes())
    return digest.hexdigest()[:12]


def image_dir() -> Path:
    return shared_dir() / "images" / f"base-{recipe_hash()}"


def preinstalled() -> bool:
    return os.environ.get("TWINSTORE_LAB_PREINSTALL", "1") != "0"


def disk_image(image: Path, storage: bool) -> Path:
    """The image a guest boots from: its role's, or the plain one when nothing is preinstalled."""
    if not preinstalled():
        return image / "base.img"
    return image / f"{'storage' if storage else 'client'}.img"


def debian_mirror() -> str:
    """The host's own Debian mirror (so the lab reaches only what the host's apt reaches)."""
    override = os.environ.get("TWINSTORE_DEBIAN_MIRROR")
    if override:
        return override
    candidates = [*sorted(Path("/etc/apt/sources.list.d").glob("*.sources")), Path("/etc/apt/sources.list")]
    for path in candidates:
        if not path.exists():
            continue
        text = path.read_text()
        for match in re.finditer(r"^URIs:\s*(\S+)", text, re.MULTILINE):
            if "security" not in match.group(1):
                return match.group(1)
        for match in re.finditer(r"^deb\s+(?:\[[^]]*\]\s+)?(\S+)\s+\S+", text, re.MULTILINE):
            if "security" not in match.group(1):
                return match.group(1)
    raise RuntimeError("no Debian mirror found in the host's apt sources; set TWINSTORE_DEBIAN_MIRROR")


def ensure_ssh_key() -> None:
    key = ssh_key()
    if not key.exists():
        key.parent.mkdir(parents=True, exist_ok=True)
        run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "twinstore-lab", "-f", str(key)])


def run(command: list[str], **kwargs: Any) -> None:
    subprocess.run(command, check=True, **kwargs)


def _chroot(root: Path, *command: str) -> None:
    env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "DEBIAN_FRONTEND": "noninteractive", "LC_ALL": "C"}
    run(["chroot", str(root), *command], env=env, stdout=subprocess.DEVNULL)


@contextlib.contextmanager
def build_lock() -> Iterator[None]:
    """One image build at a time: a second `lab up` waits for the first one's image."""
    lock_file = shared_dir() / "images" / ".build.lock"
    lock_file.parent.mkdir(parents=True, exist_ok=True)
    with lock_file.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def unmount_under(path: Path) -> None:
    """Unmount what an interrupted debootstrap left mounted (proc, sys) before deleting its tree."""
    prefix = str(path.resolve())
    with open("/proc/mounts") as mounts:
        points = [line.split()[1] for line in mounts]
    for point in sorted((p for p in points if p == prefix or p.startswith(prefix + "/")), reverse=True):
        run(["umount", "--lazy", point])


def remove_tree(path: Path) -> None:
    if path.exists():
        unmount_under(path)
        shutil.rmtree(path)


def build_image() -> Path:
    """Build the base image unless one for this recipe exists; return its directory."""
    ensure_ssh_key()
    with build_lock():
        target = image_dir()
        if all((target / f"{name}.img").exists() for name in ["base", *ROLES]):
            return target
        return _build(target)


def _build(target: Path) -> Path:
    started = time.monotonic()
    work = shared_dir() / "images" / f"build-{recipe_hash()}"
    remove_tree(work)
    root = work / "root"
    root.mkdir(parents=True)
    mirror = debian_mirror()
    print(f"lab: building the base image with debootstrap from {mirror} ...", flush=True)
    run(
        ["debootstrap", "--variant=minbase", f"--include={','.join(BASE_PACKAGES)}", release(), str(root), mirror],
        stdout=subprocess.DEVNULL,
    )

    print("lab: downloading the deploy's packages into the image's local repository ...", flush=True)
    shutil.copy("/etc/resolv.conf", root / "etc" / "resolv.conf")
    _chroot(root, "apt-get", "update", "-q")
    _chroot(root, "apt-get", "install", "-q", "-y", "--download-only", *repo_packages())
    repo = root / "srv" / "lab-repo"
    repo.mkdir(parents=True)
    for deb in (root / "var" / "cache" / "apt" / "archives").glob("*.deb"):
        shutil.move(str(deb), repo / deb.name)
    with (repo / "Packages").open("w") as packages:
        run(
            ["dpkg-scanpackages", "--multiversion", ".", "/dev/null"],
            cwd=repo,
            stdout=packages,
            stderr=subprocess.DEVNULL,
        )
    (root / "etc" / "apt" / "sources.list").write_text("deb [trusted=yes] file:/srv/lab-repo ./\n")
    for extra in (root / "etc" / "apt" / "sources.list.d").glob("*"):
        extra.unlink()
    _chroot(root, "apt-get", "update", "-q")
    _chroot(root, "apt-get", "clean")
    (root / "etc" / "resolv.conf").write_text("")

    print("lab: configuring first boot ...", flush=True)
    for relative, content in LAB_FILES.items():
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_text(content)
    (root / INITRAMFS_HOOK).chmod(0o755)
    script = root / "usr" / "local" / "sbin" / "twinstore-lab-identity"
    script.write_text(IDENTITY_SCRIPT)
    script.chmod(0o755)
    systemd = root / "etc" / "systemd" / "system"
    (systemd / "twinstore-lab-identity.service").write_text(IDENTITY_UNIT)
    wants = systemd / "multi-user.target.wants"
    wants.mkdir(exist_ok=True)
    (wants / "twinstore-lab-identity.service").symlink_to("/etc/systemd/system/twinstore-lab-identity.service")
    for unit in MASKED_UNITS:
        masked = systemd / unit
        if masked.exists() or masked.is_symlink():
            masked.unlink()
        masked.symlink_to("/dev/null")
    generators = root / "etc" / "systemd" / "system-generators"
    generators.mkdir(exist_ok=True)
    for generator in MASKED_GENERATORS:
        (generators / generator).symlink_to("/dev/null")
    kernel_version = sorted(p.name.removeprefix("vmlinuz-") for p in (root / "boot").glob("vmlinuz-*"))[-1]
    _chroot(root, "mkinitramfs", "-o", f"/boot/initrd.img-{kernel_version}", kernel_version)
    for host_key in (root / "etc" / "ssh").glob("ssh_host_*"):
        host_key.unlink()
    ssh_dir = root / "root" / ".ssh"
    ssh_dir.mkdir(mode=0o700, exist_ok=True)
    (ssh_dir / "authorized_keys").write_text(Path(f"{ssh_key()}.pub").read_text())
    (ssh_dir / "authorized_keys").chmod(0o600)
    (root / "etc" / "hostname").write_text("lab\n")
    (root / "etc" / "machine-id").write_text("")

    print("lab: writing the disk images ...", flush=True)
    boot = root / "boot"
    shutil.copy(sorted(boot.glob("vmlinuz-*"))[-1], work / "vmlinuz")
    shutil.copy(sorted(boot.glob("initrd.img-*"))[-1], work / "initrd.img")
    write_image(root, work / "base.img")
    for role, wanted in role_packages().items():
        role_root = work / f"root-{role}"
        run(["cp", "-a", str(root), str(role_root)])
        install_packages(role_root, wanted)
        for relative, content in ROLE_FILES[role].items():
            (role_root / relative).parent.mkdir(parents=True, exist_ok=True)
            (role_root / relative).write_text(content)
        write_image(role_root, work / f"{role}.img")
        remove_tree(role_root)
    remove_tree(root)
    remove_tree(target)
    work.rename(target)
    print(f"lab: base image ready in {time.monotonic() - started:.0f} s: {target}", flush=True)
    return target


def write_image(root: Path, image: Path) -> None:
    run(["truncate", "-s", IMAGE_SIZE, str(image)])
    run(["mkfs.ext4", "-q", "-F", "-L", "lab-root", "-d", str(root), str(image)])


def install_packages(root: Path, packages: list[str]) -> None:
    """Install packages from the image's own repository, as the deploy would, daemons not started."""
    policy = root / "usr" / "sbin" / "policy-rc.d"
    policy.write_text(POLICY_RC_D)
    policy.chmod(0o755)
    proc = root / "proc"
    run(["mount", "-t", "proc", "proc", str(proc)])
    try:
        _chroot(root, "apt-get", "install", "-q", "-y", "--no-install-recommends", *packages)
        _chroot(root, "apt-get", "clean")
    finally:
        run(["umount", str(proc)])
        policy.unlink()
