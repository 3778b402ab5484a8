"""Files that hold a secret: mode 0600 before any content lands, and no diff ever printed."""

from __future__ import annotations

import io
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from pyinfra.api import FileUploadCommand
from pyinfra.api.util import get_file_sha1
from pyinfra.context import ctx_host, ctx_state
from pyinfra.facts.files import File, Sha1File

from operations.util import private_template
from tests.helpers import FakeHost

DEST = "/etc/drbd.d/drbd0.res"


class UploadingHost(FakeHost):
    def get_temp_filename(self, *args: Any, **kwargs: Any) -> str:
        return "/tmp/pyinfra-temp"


def commands_for(tmp_path: Path, remote: dict[str, Any] | None, remote_text: str | None, diff: bool = True) -> tuple:
    template = tmp_path / "secret.j2"
    template.write_text('shared-secret "{{ secret }}";\n')
    sha = get_file_sha1(io.StringIO(remote_text)) if remote_text is not None else None
    host = UploadingHost({File: remote, Sha1File: sha})
    with ctx_host.use(host), ctx_state.use(SimpleNamespace(config=SimpleNamespace(DIFF=diff))):
        commands = list(private_template._inner(src=str(template), dest=DEST, secret="s3cret-value"))
    return commands, host


def raw(commands: list) -> list[str]:
    return [c.get_raw_value() if not isinstance(c, FileUploadCommand) else f"upload {c.dest}" for c in commands]


def test_a_new_file_is_created_private_before_its_content(tmp_path: Path) -> None:
    commands, _ = commands_for(tmp_path, None, None)
    created, uploaded = raw(commands)
    assert created.startswith("sh -c ") and 'umask 077 && : > "$1"' in created and created.endswith(f" sh {DEST}")
    assert uploaded == f"upload {DEST}"
    assert commands[1].src.getvalue() == 'shared-secret "s3cret-value";\n'


def test_a_readable_file_is_made_private_before_it_is_rewritten_and_no_diff_is_shown(tmp_path: Path) -> None:
    commands, host = commands_for(tmp_path, {"mode": 644}, 'shared-secret "old-value";\n')
    assert raw(commands) == [f"chmod 600 {DEST}", f"upload {DEST}"]
    assert host.logs == [f"Will modify {DEST}: it holds a secret, so no diff is shown"]
    assert not any("value" in line for line in host.logs)


def test_a_readable_file_with_the_right_content_only_changes_mode(tmp_path: Path) -> None:
    commands, _ = commands_for(tmp_path, {"mode": 644}, 'shared-secret "s3cret-value";\n')
    assert raw(commands) == [f"chmod 600 {DEST}"]


@pytest.mark.parametrize("diff", [True, False])
def test_an_up_to_date_private_file_changes_nothing(tmp_path: Path, diff: bool) -> None:
    commands, host = commands_for(tmp_path, {"mode": 600}, 'shared-secret "s3cret-value";\n', diff=diff)
    assert commands == [] and host.noops == [f"{DEST} is up to date (mode 0600)"] and host.logs == []
