"""Every shell script the deploy writes, rendered as the deploy renders it, and every one the lab's
image carries, passes shellcheck."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from lab.image import IDENTITY_SCRIPT, INITRAMFS_HOOK, LAB_FILES
from operations.boot import boot_script_values
from operations.fencing import handler_values
from operations.metrics import metrics_script_values
from operations.nis import transfer_script_values
from operations.unison import ARCHIVE_DIR, sync_command_values
from tests.helpers import real_site_config, real_storage_config, without_fencing
from twinstore.templating import jinja_env_kwargs

TEMPLATES = Path(__file__).parent.parent / "templates"


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
    }
    return {name: environment.get_template(name).render(**value) for name, value in values.items()}


def test_every_shell_template_is_covered() -> None:
    shell_templates = {str(path.relative_to(TEMPLATES)) for path in TEMPLATES.rglob("*.sh.j2")}
    assert shell_templates == set(rendered())


def scripts() -> dict[str, str]:
    lab = {
        "lab/twinstore-lab-identity.sh": IDENTITY_SCRIPT,
        f"lab/{Path(INITRAMFS_HOOK).name}.sh": LAB_FILES[INITRAMFS_HOOK],
    }
    # The handler's other variant: a pair without fence devices (fencing resource-only).
    unfenced = templates().get_template("fencing/fence-peer.sh.j2").render(**handler_values(without_fencing(), "fiori"))
    return {**rendered(), **lab, "fencing/fence-peer-without-fencing.sh": unfenced}


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
