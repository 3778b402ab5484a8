"""Scheduled verify: the script as the deploy renders it, run against a stand-in drbdadm and
/proc/drbd; its configuration's rules."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from operations.verify import TEMPLATES, verify_script_values
from tests.helpers import real_storage_config, render_template, storage_value, with_storage
from twinstore.validation import format_problems

HEADER = "version: 8.4.11 (api:1/proto:86-101)\n"


def resource_lines(minor: int, cs: str = "Connected", ds: str = "UpToDate/UpToDate", oos: int = 0) -> str:
    return (
        f" {minor}: cs:{cs} ro:Primary/Primary ds:{ds} C r-----\n"
        f"    ns:0 nr:0 dw:0 dr:0 al:0 bm:0 lo:0 pe:0 ua:0 ap:0 ep:1 wo:f oos:{oos}\n"
    )


def run_verify(
    tmp_path: Path, before: str, after: dict[str, str], *arguments: str
) -> tuple[subprocess.CompletedProcess[str], dict[str, str], list[str]]:
    """The script run with /proc/drbd as `before`; `drbdadm verify NAME` (a stand-in) leaves it as
    after[NAME] (a verify that ended at once), or fails when NAME is not there. Returns the run,
    the records by file name, and the drbdadm calls."""
    proc = tmp_path / "drbd"
    proc.write_text(before)
    for name, text in after.items():
        (tmp_path / f"after-{name}").write_text(text)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    drbdadm = bin_dir / "drbdadm"
    drbdadm.write_text(
        '#!/bin/sh\necho "$*" >>"$CALLS"\n[ -f "$AFTER/after-$2" ] || exit 10\ncp "$AFTER/after-$2" "$PROC"\n'
    )
    drbdadm.chmod(0o755)
    values = {**verify_script_values(real_storage_config()), "proc_drbd": str(proc), "poll_seconds": 0}
    values["state_dir"] = str(tmp_path / "state")
    script = tmp_path / "twinstore-verify"
    script.write_text(render_template(TEMPLATES / "twinstore-verify.sh.j2", **values))
    environment = {
        **os.environ,
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "CALLS": str(tmp_path / "calls"),
        "AFTER": str(tmp_path),
        "PROC": str(proc),
    }
    result = subprocess.run(
        ["sh", str(script), *arguments], capture_output=True, text=True, env=environment, check=False
    )
    state = tmp_path / "state"
    records = {path.name: path.read_text() for path in sorted(state.iterdir())} if state.exists() else {}
    calls = (tmp_path / "calls").read_text().splitlines() if (tmp_path / "calls").exists() else []
    return result, records, calls


def test_each_resource_is_verified_in_turn_and_its_outcome_recorded(tmp_path: Path) -> None:
    connected = HEADER + resource_lines(0) + resource_lines(1)
    after = {
        "drbd0": HEADER + resource_lines(0, oos=4) + resource_lines(1),
        "drbd1": HEADER + resource_lines(0, oos=4) + resource_lines(1),
    }
    result, records, calls = run_verify(tmp_path, connected, after)
    assert result.returncode == 0, result.stderr
    assert calls == ["verify drbd0", "verify drbd1"]
    assert set(records) == {"drbd0", "drbd0.done", "drbd1", "drbd1.done"}
    start, end, outcome, oos = records["drbd0"].split()
    assert (outcome, oos) == ("done", "4") and int(start) <= int(end)
    assert records["drbd0.done"] == records["drbd0"]
    assert records["drbd1"].split()[2:] == ["done", "0"]
    assert "drbd0: verify done, 4 KiB out of sync" in result.stdout
    assert not [path for path in (tmp_path / "state").iterdir() if path.name.startswith(".")], "a temporary file left"


def test_a_resource_not_connected_is_skipped_and_the_last_verify_done_kept(tmp_path: Path) -> None:
    state = tmp_path / "state"
    state.mkdir()
    (state / "drbd1.done").write_text("100 200 done 0\n")
    before = HEADER + resource_lines(0) + resource_lines(1, cs="WFConnection", ds="UpToDate/DUnknown")
    result, records, calls = run_verify(tmp_path, before, {"drbd0": before})
    assert result.returncode == 1
    assert calls == ["verify drbd0"]
    assert records["drbd1"].split()[2:] == ["skipped", "0"]
    assert records["drbd1.done"] == "100 200 done 0\n"
    assert "drbd1: not verified: WFConnection UpToDate/DUnknown" in result.stderr


def test_a_verify_drbd_refuses_or_that_loses_the_connection_is_recorded_as_such(tmp_path: Path) -> None:
    connected = HEADER + resource_lines(0) + resource_lines(1)
    # drbd0's verify is refused (no after-file); drbd1's ends with the connection lost.
    lost = HEADER + resource_lines(0) + resource_lines(1, cs="WFConnection", ds="UpToDate/DUnknown", oos=8)
    result, records, _ = run_verify(tmp_path, connected, {"drbd1": lost})
    assert result.returncode == 1
    assert records["drbd0"].split()[2:] == ["skipped", "0"]
    assert records["drbd1"].split()[2:] == ["interrupted", "8"]
    assert "drbd0.done" not in records and "drbd1.done" not in records


def test_arguments_name_the_resources_to_verify(tmp_path: Path) -> None:
    connected = HEADER + resource_lines(0) + resource_lines(1)
    result, records, calls = run_verify(tmp_path, connected, {"drbd1": connected}, "drbd1")
    assert result.returncode == 0, result.stderr
    assert calls == ["verify drbd1"]
    assert set(records) == {"drbd1", "drbd1.done"}


def test_a_schedule_without_a_verify_algorithm_is_refused() -> None:
    options = storage_value("drbd_options")
    options["verify_alg"] = None
    text = format_problems(with_storage("drbd_options", options))
    assert "verify.schedule 'Sun *-*-* 03:00:00' needs drbd_options.verify_alg" in text
    assert with_storage("verify", {"schedule": None}) == []


@pytest.mark.parametrize(
    ("value", "rule"),
    [
        ({"schedule": "weekly\nExecStartPre=/bin/sh -c evil"}, "line break"),
        ({"schedule": "daily %n"}, "should match pattern"),
        ({"max_age_days": 0}, "greater than or equal to 1"),
    ],
)
def test_a_schedule_that_would_change_the_timer_file_is_refused(value: dict[str, object], rule: str) -> None:
    text = format_problems(with_storage("verify", value))
    field, shown = next(iter(value.items()))
    assert f"verify.{field} = {shown!r}" in text, text
    assert rule in text, text
