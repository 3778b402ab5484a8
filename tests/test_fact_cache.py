"""The fact cache on a real pyinfra state with the @local connector: reads, forgetting, prefetch."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pyinfra.api import Config, Inventory, State, StringCommand
from pyinfra.api.connect import connect_all
from pyinfra.api.host import Host
from pyinfra.connectors.local import LocalConnector
from pyinfra.context import ctx_host, ctx_state
from pyinfra.facts.files import Directory, File, FindInFile, Sha1File
from pyinfra.facts.server import Command
from pyinfra.operations.util.files import adjust_regex

from twinstore import fact_cache


@pytest.fixture
def local_host(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Host, list[str]]]:
    fact_cache.install()
    fact_cache.forget()
    sent: list[str] = []
    run_shell_command = LocalConnector.run_shell_command

    def counted(self: LocalConnector, command: StringCommand, *args: Any, **kwargs: Any) -> Any:
        sent.append(str(command))
        return run_shell_command(self, command, *args, **kwargs)

    monkeypatch.setattr(LocalConnector, "run_shell_command", counted)
    inventory = Inventory((["@local"], {}))
    state = State(inventory, Config())
    host = inventory.get_host("@local")
    with ctx_state.use(state), ctx_host.use(host):
        connect_all(state)
        yield host, sent
    fact_cache.forget()


def test_a_fact_is_read_once_until_a_command_runs(local_host: tuple[Host, list[str]]) -> None:
    host, sent = local_host
    first = host.get_fact(Command, command="cat /proc/sys/kernel/random/uuid")
    assert host.get_fact(Command, command="cat /proc/sys/kernel/random/uuid") == first
    assert len(sent) == 1
    # Other arguments are another question.
    assert host.get_fact(Command, command="echo other") == "other"
    assert len(sent) == 2

    host.run_shell_command(StringCommand("true"))
    assert host.get_fact(Command, command="cat /proc/sys/kernel/random/uuid") != first
    assert len(sent) == 4


def test_a_cached_answer_cannot_be_edited_by_its_reader(local_host: tuple[Host, list[str]], tmp_path: Path) -> None:
    host, _ = local_host
    (tmp_path / "f").write_text("x")
    info = host.get_fact(File, path=str(tmp_path / "f"))
    assert info
    info["size"] = -1
    again = host.get_fact(File, path=str(tmp_path / "f"))
    assert again and again["size"] == 1


def read_all(host: Host, present: str, absent: str, directory: str) -> list[object]:
    return [
        host.get_fact(File, path=present),
        host.get_fact(Sha1File, path=present),
        host.get_fact(File, path=absent),
        host.get_fact(Sha1File, path=absent),
        host.get_fact(Directory, path=directory),
    ]


def test_prefetch_answers_as_separate_reads_would(local_host: tuple[Host, list[str]], tmp_path: Path) -> None:
    host, sent = local_host
    present = tmp_path / "present.conf"
    present.write_text("content\n")
    absent = str(tmp_path / "absent.conf")
    fact_cache.prefetch_for_operations(host, files=[str(present), absent], directories=[str(tmp_path)])
    assert len(sent) == 1
    prefetched = read_all(host, str(present), absent, str(tmp_path))
    assert len(sent) == 1

    fact_cache.forget()
    read_alone = read_all(host, str(present), absent, str(tmp_path))
    assert len(sent) == 6
    assert prefetched == read_alone
    assert prefetched[1] is not None and prefetched[2] is None


def test_prefetch_leaves_a_failing_fact_to_the_normal_read(local_host: tuple[Host, list[str]]) -> None:
    host, sent = local_host
    fact_cache.prefetch(host, [(Command, {"command": "exit 3"}), (Command, {"command": "echo fine"})])
    assert len(sent) == 1
    assert host.get_fact(Command, command="echo fine") == "fine"
    assert len(sent) == 1
    # The failing one is not remembered: its next read goes to the host, the pyinfra way.
    assert [key for key in fact_cache._answers if "exit 3" in key[2]] == []


def read_lines(host: Host, paths: list[str], line: str) -> list[object]:
    # What files.line asks with extended_regex=True and its other flags at their defaults.
    pattern = adjust_regex(line, escape_regex_characters=False)
    return [
        host.get_fact(FindInFile, path=path, pattern=pattern, interpolate_variables=False, extended_regex=True)
        for path in paths
    ]


def test_prefetched_lines_answer_as_files_line_reads_them(local_host: tuple[Host, list[str]], tmp_path: Path) -> None:
    host, sent = local_host
    matching, other, absent = (str(tmp_path / name) for name in ("fstab", "other", "absent"))
    Path(matching).write_text("/dev/vg0/a /vol/a ext4 noatime 0 2\n/dev/vg0/b /vol/b ext4 noatime 0 2\n")
    Path(other).write_text("nothing here\n")
    line = r"^\S+\s+/vol/b\s"
    fact_cache.prefetch_for_operations(host, lines=[(path, line, True) for path in (matching, other, absent)])
    assert len(sent) == 1
    prefetched = read_lines(host, [matching, other, absent], line)
    assert len(sent) == 1

    fact_cache.forget()
    assert read_lines(host, [matching, other, absent], line) == prefetched
    assert len(sent) == 4
    # A match, an existing file without one, no file at all: three different answers.
    assert prefetched == [["/dev/vg0/b /vol/b ext4 noatime 0 2"], [], None]
