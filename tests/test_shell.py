"""Every shell script the deploy writes, rendered as the deploy renders it, and every one the lab's
image carries, passes shellcheck."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from pyinfra.api import QuoteString, StringCommand

from facts.drbd import DrbdResources, io_flowing
from facts.health import StorageHealth
from facts.links import PublicPaths
from facts.lvm import BlockDevices
from facts.nfs import NfsExports
from facts.nis import Nis
from facts.ocfs2 import Ocfs2
from facts.replication import ReplicationLink
from facts.sources import AptSourceUris
from facts.unison import Unison
from lab.image import IDENTITY_SCRIPT, INITRAMFS_HOOK, LAB_FILES
from operations.boot import boot_script_values
from operations.drbd import resource_commands
from operations.fencing import handler_values
from operations.metrics import metrics_script_values
from operations.nis import transfer_script_values
from operations.ocfs2 import mount_command
from operations.unison import ARCHIVE_DIR, sync_command_values
from operations.util import operation_script, refuse_unless_blank
from operations.verify import verify_script_values
from tests.helpers import real_site_config, real_storage_config, without_fencing
from twinstore.templating import jinja_env_kwargs

ROOT = Path(__file__).parent.parent
TEMPLATES = ROOT / "templates"


def templates() -> Environment:
    """The templates directory as files.template renders it (pyinfra's Jinja2 settings and ours)."""
    return Environment(
        loader=FileSystemLoader(TEMPLATES), undefined=StrictUndefined, keep_trailing_newline=True, **jinja_env_kwargs()
    )


def rendered() -> dict[str, str]:
    environment = templates()
    config = real_storage_config()
    values = {
        "boot/twinstore-storage.sh.j2": boot_script_values(config),
        "fencing/fence-peer.sh.j2": handler_values(config, "torchio"),
        "unison/sync.sh.j2": sync_command_values(config.unison, "/vol/rep-unison", "fiori", "torchio", "192.168.1.7"),
        "unison/unison-server.sh.j2": {"root": "/vol/rep-unison", "archive_dir": ARCHIVE_DIR},
        "metrics/twinstore-metrics.sh.j2": metrics_script_values(config, "fiori"),
        "nis/twinstore-nis-transfer.sh.j2": transfer_script_values(real_site_config()),
        "verify/twinstore-verify.sh.j2": verify_script_values(config),
    }
    return {name: environment.get_template(name).render(**value) for name, value in values.items()}


def test_every_shell_template_is_covered() -> None:
    shell_templates = {str(path.relative_to(TEMPLATES)) for path in TEMPLATES.rglob("*.sh.j2")}
    assert shell_templates == set(rendered())


def sent_scripts(package: str, commands: dict[str, StringCommand]) -> dict[str, str]:
    """The script each command sends, named <package>/<name>.sh: an operation's `sh -c SCRIPT sh
    ARG...`, or a fact's whole `( set -- ARG... SCRIPT )` as the shell that runs it reads it."""
    texts = {}
    for name, command in commands.items():
        if command.bits[0] == "(":
            texts[f"{package}/{name}.sh"] = f"#!/bin/sh\n{command.get_raw_value()}"
            continue
        script = command.bits[2]
        assert isinstance(script, QuoteString), name
        texts[f"{package}/{name}.sh"] = f"#!/bin/sh\n{script.obj}"
    return texts


def fact_scripts() -> dict[str, str]:
    """Each fact's script as its command sends it (its values assigned first)."""
    config = real_storage_config()
    commands = {
        "block_devices": BlockDevices().command(paths=["/dev/vdb", "/dev/mapper/vg0-rep--drbd0"]),
        "drbd": DrbdResources().command(resources=config.drbd_fact_resources),
        "io_flowing": io_flowing(),
        "health": StorageHealth().command(cluster="ocfs2", last_run_file="/x", mount_points=["/vol/a"]),
        "links": PublicPaths().command(links=[("/vol/pub", "/vol/rep-unison/pub", "/vol/rep-unison")]),
        "nfs": NfsExports().command(paths=["/vol/pub"]),
        "nis": Nis().command(domain="pasta.net"),
        "ocfs2": Ocfs2().command(cluster="ocfs2", devices=config.ocfs2_devices),
        "replication": ReplicationLink().command(),
        "sources": AptSourceUris().command(files=["/etc/apt/sources.list"]),
        "unison": Unison().command(key="/k", known_hosts="/h", archive_dir="/a", root="/r"),
    }
    return sent_scripts("facts", commands)


def operation_scripts() -> dict[str, str]:
    """Each operation's script as its command sends it (its values assigned first)."""
    commands = {
        **{f"drbd_{name}": command for name, command in resource_commands("drbd0").items()},
        "ocfs2_mount": mount_command("/dev/drbd0", "/vol/ocfs2-small", ["_netdev", "noatime"]),
        "nfs_reexport": operation_script("nfs_reexport"),
        "replication_holders": operation_script("replication_holders", "/vol/a", "/vol/b", purpose="the move"),
        "refuse_unless_blank": refuse_unless_blank("/dev/vg0/rep-drbd0", zero_head_bytes=69632),
        "private_file": operation_script("private_file", "/etc/twinstore/x"),
        "nis_init_master": operation_script("nis_init_master", "pasta.net"),
        "write_value": operation_script("write_value", "/var/lib/x", 42),
        "drbd_resize": operation_script("drbd_resize", "drbd0", 0, timeout=120),
        "ocfs2_grow": operation_script("ocfs2_grow", "/dev/drbd0"),
        "upgrade_offered": operation_script("upgrade_offered", 13, "trixie"),
        "upgrade_packages": operation_script(
            "upgrade_packages", "trixie", "fence-agents-redfish", policy="/usr/sbin/policy-rc.d"
        ),
        "upgrade_resynced": operation_script("upgrade_resynced", "twinstore-storage.service", timeout=1800),
    }
    return sent_scripts("operations", commands)


def test_every_operation_script_is_covered() -> None:
    shipped = {f"operations/{path.name}" for path in (ROOT / "operations" / "scripts").glob("*.sh")}
    assert shipped == set(operation_scripts())


def test_every_fact_script_is_covered() -> None:
    shipped = {f"facts/{path.name}" for path in (Path(__file__).parent.parent / "facts" / "scripts").glob("*.sh")}
    # frozen.sh runs as the first part of health's and nfs's scripts.
    assert shipped - {"facts/frozen.sh"} == set(fact_scripts())
    for name in ("health", "nfs", "io_flowing"):
        assert "frozen=" in fact_scripts()[f"facts/{name}.sh"], name


def scripts() -> dict[str, str]:
    lab = {
        "lab/twinstore-lab-identity.sh": IDENTITY_SCRIPT,
        f"lab/{Path(INITRAMFS_HOOK).name}.sh": LAB_FILES[INITRAMFS_HOOK],
        "tests/e2e/guest/mirror_indexes.sh": (ROOT / "tests" / "e2e" / "guest" / "mirror_indexes.sh").read_text(),
    }
    # The handler's other variant: a pair without fence devices (fencing resource-only).
    unfenced = templates().get_template("fencing/fence-peer.sh.j2").render(**handler_values(without_fencing(), "fiori"))
    return {
        **rendered(),
        **lab,
        "fencing/fence-peer-without-fencing.sh": unfenced,
        **fact_scripts(),
        **operation_scripts(),
    }


@pytest.mark.parametrize("name", sorted(scripts()))
def test_the_script_passes_shellcheck(name: str, tmp_path: Path) -> None:
    if shutil.which("shellcheck") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("CI=true: shellcheck must run (scripts/setup.sh installs it)")
        pytest.skip("shellcheck is not installed (scripts/setup.sh installs it)")
    script = tmp_path / Path(name).name.removesuffix(".j2")
    script.write_text(scripts()[name])
    result = subprocess.run(["shellcheck", str(script)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout
