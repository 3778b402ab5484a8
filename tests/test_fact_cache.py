"""The fact cache on a real pyinfra state with the @local connector: reads, forgetting, prefetch."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import gevent  # type: ignore[import-untyped]
import pytest
from pyinfra import host as host_proxy
from pyinfra.api import Config, FactBase, Inventory, State, StringCommand
from pyinfra.api.connect import connect_all
from pyinfra.api.exceptions import ConnectError
from pyinfra.api.hiddenvalue import HiddenValue
from pyinfra.api.host import Host
from pyinfra.connectors.local import LocalConnector
from pyinfra.context import ctx_host, ctx_state
from pyinfra.facts.files import Directory, File, FindInFile, Link, Sha1File
from pyinfra.facts.server import Command, Sysctl
from pyinfra.facts.systemd import SystemdEnabled, SystemdStatus
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


def hold_atime(*paths: Path) -> None:
    """Keep atime still while a test compares two reads of the same paths.

    Under relatime a read moves atime while atime is not after mtime and ctime (readlink counts as
    a read of a link), so a stat before and one after could differ when a second ticks between
    them (CI met it). An atime an hour ahead of both keeps it still.
    """
    now = time.time()
    for path in paths:
        os.utime(path, (now + 3600, now), follow_symlinks=False)


def test_prefetch_answers_as_separate_reads_would(local_host: tuple[Host, list[str]], tmp_path: Path) -> None:
    host, sent = local_host
    present = tmp_path / "present.conf"
    present.write_text("content\n")
    hold_atime(present)
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


def test_the_last_answer_keeps_its_blank_lines_and_spaces(local_host: tuple[Host, list[str]]) -> None:
    host, sent = local_host
    # The combined read prints its output in one write from $( ), which strips trailing newlines:
    # the section's end marker comes after them, so the answer stays whole.
    reads: list[tuple[type[FactBase[Any]], dict[str, Any]]] = [
        (Command, {"command": "echo first"}),
        (Command, {"command": "printf 'a  \\n\\n  b\\n\\n\\n'"}),
    ]
    fact_cache.prefetch(host, reads)
    assert len(sent) == 1
    prefetched = [host.get_fact(fact, **kwargs) for fact, kwargs in reads]
    assert len(sent) == 1
    fact_cache.forget()
    assert [host.get_fact(fact, **kwargs) for fact, kwargs in reads] == prefetched
    assert len(sent) == 3
    assert prefetched == ["first", "a  \n\n  b\n\n"]


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


def read_paths(host: Host, paths: dict[str, str]) -> list[Any]:
    return [host.get_fact(fact, path=path) for path in paths.values() for fact in (File, Directory, Link, Sha1File)]


def test_one_program_answers_every_path_as_its_own_read_would(
    local_host: tuple[Host, list[str]], tmp_path: Path
) -> None:
    host, sent = local_host
    (tmp_path / "dir").mkdir()
    (tmp_path / "file with 'quote' and space").write_text("content\n")
    (tmp_path / "link").symlink_to(tmp_path / "file with 'quote' and space")
    (tmp_path / "dangling").symlink_to(tmp_path / "nowhere")
    hold_atime(*(tmp_path / name for name in ("dir", "file with 'quote' and space", "link", "dangling")))
    paths = {
        name: str(tmp_path / name) for name in ("dir", "file with 'quote' and space", "link", "dangling", "absent")
    }
    reads = [(fact, {"path": path}) for path in paths.values() for fact in (File, Directory, Link, Sha1File)]
    fact_cache.prefetch(host, reads)
    assert len(sent) == 1
    # One stat and one sha1sum for twenty reads, not a program per read.
    assert sent[0].count("stat --printf") == 1 and sent[0].count("sha1sum") == 1
    prefetched = read_paths(host, paths)
    assert len(sent) == 1

    fact_cache.forget()
    read_alone = read_paths(host, paths)
    assert len(sent) == 1 + len(reads)
    assert prefetched == read_alone
    # Each kind of path is told apart: the right fact answers, the others say False or None.
    by_path = dict(zip(paths, [prefetched[i : i + 4] for i in range(0, len(prefetched), 4)], strict=True))
    assert by_path["dir"][1] and by_path["dir"][0] is False and by_path["dir"][3] is None
    assert by_path["file with 'quote' and space"][0] and by_path["file with 'quote' and space"][3]
    assert by_path["link"][2] and by_path["link"][2]["link_target"] == paths["file with 'quote' and space"]
    assert by_path["dangling"][2] and by_path["dangling"][2]["link_target"] == str(tmp_path / "nowhere")
    assert by_path["absent"] == [None, None, None, None]


FAKE_SYSTEMCTL = """#!/bin/sh
# systemctl show as systemd prints it: the asked properties of each unit, a blank line between units.
[ "$1" = show ] || exit 1
shift
properties=""
first=1
while [ "$#" -gt 0 ]; do
    case "$1" in
        --all) ;;
        --property) shift; properties="$properties $1" ;;
        *)
            [ "$first" = 1 ] || echo
            first=0
            case "$1" in *.*) unit=$1 ;; *) unit=$1.service ;; esac
            case "$unit" in
                running.service) sub=running; file=enabled ;;
                static.service) sub=exited; file=static ;;
                *) sub=dead; file=disabled ;;
            esac
            for property in $properties; do
                case "$property" in
                    Id) echo "Id=$unit" ;;
                    SubState) echo "SubState=$sub" ;;
                    UnitFileState) echo "UnitFileState=$file" ;;
                esac
            done
            ;;
    esac
    shift
done
"""


def read_units(host: Host, units: list[str]) -> list[object]:
    # As pyinfra's systemd.service reads them: every argument spelled out.
    unit = {"user_mode": False, "machine": None, "user_name": None}
    return [host.get_fact(fact, **unit, services=[name]) for name in units for fact in (SystemdStatus, SystemdEnabled)]


def test_one_systemctl_and_one_sysctl_answer_every_unit_and_key(
    local_host: tuple[Host, list[str]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    host, sent = local_host
    fake = tmp_path / "bin" / "systemctl"
    fake.parent.mkdir()
    fake.write_text(FAKE_SYSTEMCTL)
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake.parent}:{os.environ['PATH']}")
    units = ["running.service", "static.service", "stopped", "absent.timer"]
    keys = ["kernel.ostype", "kernel.no_such_key"]
    # Asked with the defaults left out: the same reads.
    reads: list[tuple[type[FactBase[Any]], dict[str, Any]]] = [
        (fact, {"services": [name]}) for name in units for fact in (SystemdStatus, SystemdEnabled)
    ]
    reads += [(Sysctl, {"keys": [key]}) for key in keys]
    fact_cache.prefetch(host, reads)
    assert len(sent) == 1
    assert sent[0].count("systemctl show") == 1 and sent[0].count("sysctl ") == 1
    prefetched = [*read_units(host, units), *(host.get_fact(Sysctl, keys=[key]) for key in keys)]
    assert len(sent) == 1

    fact_cache.forget()
    read_alone = [*read_units(host, units), *(host.get_fact(Sysctl, keys=[key]) for key in keys)]
    assert len(sent) == 1 + len(reads)
    assert prefetched == read_alone
    assert prefetched[:4] == [
        {"running.service": True},
        {"running.service": True},
        {"static.service": True},
        {"static.service": True},
    ]
    assert prefetched[4:8] == [{"stopped.service": False}] * 2 + [{"absent.timer": False}] * 2
    assert prefetched[8:] == [{"kernel.ostype": "Linux"}, {}]


def test_the_same_read_asked_twice_is_sent_once(local_host: tuple[Host, list[str]], tmp_path: Path) -> None:
    host, sent = local_host
    fact_cache.prefetch(host, [(Command, {"command": "echo once"})] * 2 + [(Directory, {"path": str(tmp_path)})] * 2)
    assert len(sent) == 1
    assert sent[0].count("echo once") == 1 and sent[0].count(str(tmp_path)) == 1


def test_a_read_with_other_connector_arguments_is_another_read(local_host: tuple[Host, list[str]]) -> None:
    """pyinfra runs a fact's command with the connector arguments in effect (api/facts.py): the
    call's, over its operation's. Each such read is its own question."""
    host, sent = local_host
    echo = {"command": "echo ${TWINSTORE_X:-unset}"}
    assert host.get_fact(Command, **echo, _env={"TWINSTORE_X": "a"}) == "a"
    assert host.get_fact(Command, **echo, _env={"TWINSTORE_X": "b"}) == "b"
    assert host.get_fact(Command, **echo) == "unset"
    assert host.get_fact(Command, **echo, _env={"TWINSTORE_X": "a"}) == "a"
    assert len(sent) == 3


def test_a_prefetch_in_an_operation_reads_with_its_connector_arguments(local_host: tuple[Host, list[str]]) -> None:
    host, sent = local_host
    echo = {"command": "echo ${TWINSTORE_X:-unset}"}
    host.current_op_global_arguments = {"_env": {"TWINSTORE_X": "op"}}  # type: ignore[assignment]
    try:
        fact_cache.prefetch(host, [(Command, echo)])
        assert host.get_fact(Command, **echo) == "op"
        assert len(sent) == 1
    finally:
        host.current_op_global_arguments = None
    # Outside the operation the same fact is another read.
    assert host.get_fact(Command, **echo) == "unset"
    assert len(sent) == 2


def test_operations_with_the_same_connector_arguments_share_one_resolution(
    local_host: tuple[Host, list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """pyinfra's rule for a read's arguments is resolved once per call and connector arguments in
    effect, not once per operation (each has its own arguments dict); other connector arguments
    are another read, and ones whose repr does not name them (a HiddenValue) are left to pyinfra."""
    host, sent = local_host
    resolved: list[object] = []
    as_pyinfra = fact_cache._read_as_pyinfra

    def counted(*args: Any) -> Any:
        resolved.append(args[3])
        return as_pyinfra(*args)

    monkeypatch.setattr(fact_cache, "_read_as_pyinfra", counted)
    echo = {"command": "echo ${TWINSTORE_X:-unset}"}
    answers = []
    for arguments in (
        {"name": "one", "_env": {"TWINSTORE_X": "a"}},
        {"name": "two", "_env": {"TWINSTORE_X": "a"}, "_if": [lambda: True]},
        {"name": "three", "_env": {"TWINSTORE_X": "b"}},
        # A hidden value's repr is the same for any content: never a key by what it shows.
        {"name": "four", "_env": {"TWINSTORE_X": HiddenValue("c")}},
        {"name": "five", "_env": {"TWINSTORE_X": HiddenValue("d")}},
    ):
        host.current_op_global_arguments = arguments  # type: ignore[assignment]
        try:
            answers.append(host.get_fact(Command, **echo))
        finally:
            host.current_op_global_arguments = None
    assert answers == ["a", "a", "b", "c", "d"]
    assert len(resolved) == 2
    assert len(sent) == 4


def test_a_read_through_pyinfras_host_proxy_is_the_current_hosts() -> None:
    """Deploy code passes pyinfra's context proxy (`from pyinfra import host`), one object for
    every host: each read is still the current host's own."""
    inventory = Inventory((["fiori", "torchio"], {}))
    state = State(inventory, Config())
    keys = []
    with ctx_state.use(state):
        for name in ("fiori", "torchio", "fiori"):
            with ctx_host.use(inventory.get_host(name)):
                read = fact_cache._read(host_proxy, Command, (), {"command": "hostname"})
                assert read is not None
                keys.append(read.key[0])
    assert keys == ["fiori", "torchio", "fiori"]


def test_a_read_with_its_defaults_spelled_out_is_the_same_read(
    local_host: tuple[Host, list[str]], tmp_path: Path
) -> None:
    host, sent = local_host
    (tmp_path / "f").write_text("one\ntwo\n")
    short = host.get_fact(FindInFile, path=str(tmp_path / "f"), pattern="tw")
    spelled = host.get_fact(FindInFile, str(tmp_path / "f"), "tw", interpolate_variables=False, extended_regex=False)
    assert short == spelled == ["two"]
    assert len(sent) == 1


def test_what_is_read_while_a_command_runs_is_forgotten_when_it_ends(
    local_host: tuple[Host, list[str]], tmp_path: Path
) -> None:
    """Another host's greenlet may read while this host's command runs (a deploy runs hosts side by side)."""
    host, _ = local_host
    made = tmp_path / "made"
    command = gevent.spawn(host.run_shell_command, StringCommand("sleep 0.5; touch", str(made)))
    gevent.sleep(0.1)
    assert host.get_fact(File, path=str(made)) is None
    command.join()
    assert host.get_fact(File, path=str(made))


def test_a_gate_that_fails_ends_the_combined_read_after_its_own_facts(local_host: tuple[Host, list[str]]) -> None:
    """The deploy's combined read on a node whose DRBD I/O is frozen: it answers that, and sends
    none of the reads that would wait until I/O resumes."""
    host, sent = local_host
    slow = {"command": "sleep 30; echo late"}
    closed = fact_cache.Gate(facts=((Command, {"command": "echo frozen"}),), test=StringCommand("false"))
    started = time.monotonic()
    fact_cache.prefetch(host, [(Command, slow), (File, {"path": "/etc/hostname"})], gate=closed)
    assert time.monotonic() - started < 10
    assert host.get_fact(Command, command="echo frozen") == "frozen"
    assert len(sent) == 1 and sent[0].index("echo frozen") < sent[0].index("false") < sent[0].index("sleep 30")
    # What the gate held back is read the normal way when asked.
    assert host.get_fact(File, path="/etc/hostname")
    assert len(sent) == 2

    fact_cache.forget()
    opened = fact_cache.Gate(facts=((Command, {"command": "echo flowing"}),), test=StringCommand("true"))
    fact_cache.prefetch(host, [(Command, {"command": "echo other"}), (File, {"path": "/etc/hostname"})], gate=opened)
    assert host.get_fact(Command, command="echo flowing") == "flowing"
    assert host.get_fact(Command, command="echo other") == "other"
    assert host.get_fact(File, path="/etc/hostname")
    assert len(sent) == 3


class WordLengths(FactBase[dict[str, int]]):
    """An item fact: one answer per word, read for several words at once."""

    items_argument = "words"

    @staticmethod
    def narrow(answer: dict[str, int], words: list[str]) -> dict[str, int]:
        return {word: length for word, length in answer.items() if word in words}

    def command(self, words: list[str], prefix: str = "") -> StringCommand:
        return StringCommand("for w in", *words, '; do echo "$w" "${#w}"; done')

    def process(self, output: list[str]) -> dict[str, int]:
        return {word: int(length) for word, length in (line.split() for line in output)}


def test_a_read_of_some_items_is_answered_from_a_read_of_more(local_host: tuple[Host, list[str]]) -> None:
    """The combined read asks BlockDevices and Ocfs2 for all of a node's volumes; each operation
    asks for its own volume, and needs no parameter naming the others to find that answer."""
    host, sent = local_host
    fact_cache.prefetch(host, [(WordLengths, {"words": ["a", "bb", "ccc"]})])
    assert host.get_fact(WordLengths, words=["bb"]) == {"bb": 2}
    assert host.get_fact(WordLengths, words=["ccc", "a"]) == {"a": 1, "ccc": 3}
    assert len(sent) == 1
    # Not all of them read before, or other arguments: another read.
    assert host.get_fact(WordLengths, words=["bb", "dddd"]) == {"bb": 2, "dddd": 4}
    assert host.get_fact(WordLengths, words=["bb"], prefix="x") == {"bb": 2}
    assert len(sent) == 3
    # A change forgets the wider answers too.
    host.run_shell_command(StringCommand("true"))
    sent.clear()
    assert host.get_fact(WordLengths, words=["a"]) == {"a": 1}
    assert len(sent) == 1


def test_a_read_waits_for_the_prefetch_that_is_answering_it(local_host: tuple[Host, list[str]]) -> None:
    host, sent = local_host
    # The other greenlet asks while the prefetch is still on its way (the peer's DRBD state).
    slow = {"command": "sleep 0.5; echo answer"}
    prefetching = gevent.spawn(fact_cache.prefetch, host, [(Command, slow)])
    gevent.sleep(0.1)
    assert host.get_fact(Command, **slow) == "answer"
    prefetching.join()
    assert len(sent) == 1


def test_after_a_change_a_run_of_misses_reads_the_registered_facts_again_at_once(
    local_host: tuple[Host, list[str]], tmp_path: Path
) -> None:
    host, sent = local_host
    paths = [str(tmp_path / f"f{index}") for index in range(fact_cache.REFRESH_AFTER_MISSES + 5)]
    for path in paths[::2]:
        Path(path).write_text(path)
    fact_cache.prefetch_reads(host, fact_cache.FactReads(files=paths), register=True)
    # A subsystem's own prefetch, planned later (answered already), keeps the deploy's registration.
    fact_cache.prefetch_reads(host, fact_cache.FactReads(files=paths[:1]))
    assert len(sent) == 1
    host.state.is_executing = True
    try:
        # A change: every answer is forgotten. Single reads until too many missed in a row...
        host.run_shell_command(StringCommand("true"))
        sent.clear()
        for path in paths[: fact_cache.REFRESH_AFTER_MISSES - 1]:
            host.get_fact(File, path=path)
        assert len(sent) == fact_cache.REFRESH_AFTER_MISSES - 1
        # ...then one combined read answers this one and every registered read after it.
        sent.clear()
        answers: list[object] = [host.get_fact(File, path=path) for path in paths]
        answers += [host.get_fact(Sha1File, path=path) for path in paths]
        assert len(sent) == 1 and "echo '#twinstore-fact 0'" in sent[0], sent
        # The same answers as single reads give.
        fact_cache.forget()
        host.state.is_executing = False
        alone = [host.get_fact(File, path=path) for path in paths] + [
            host.get_fact(Sha1File, path=path) for path in paths
        ]
        assert answers == alone
        assert answers[1] is None and answers[0] is not None

        # A change in between starts the count again; facts the deploy did not register never count.
        host.state.is_executing = True
        host.run_shell_command(StringCommand("true"))
        sent.clear()
        for index in range(fact_cache.REFRESH_AFTER_MISSES * 2):
            host.get_fact(Command, command=f"echo {index}")
        for path in paths[: fact_cache.REFRESH_AFTER_MISSES // 2]:
            host.get_fact(File, path=path)
        host.run_shell_command(StringCommand("true"))
        for path in paths[: fact_cache.REFRESH_AFTER_MISSES // 2]:
            host.get_fact(File, path=path)
        assert not [command for command in sent if "echo '#twinstore-fact 0'" in command], sent
    finally:
        host.state.is_executing = False


def test_a_host_that_cannot_be_reached_is_tried_once_per_run(monkeypatch: pytest.MonkeyPatch) -> None:
    # A hung peer accepts the connection and never answers: each attempt waits out the timeout.
    fact_cache.install()
    monkeypatch.setattr(fact_cache, "_unreachable", {})
    attempts: list[str] = []

    def refuse(self: LocalConnector) -> None:
        attempts.append(self.host.name)
        raise ConnectError("Error reading SSH protocol banner")

    monkeypatch.setattr(LocalConnector, "connect", refuse)
    inventory = Inventory((["@local"], {}))
    state = State(inventory, Config())
    host = inventory.get_host("@local")
    with ctx_state.use(state), ctx_host.use(host):
        for _ in range(2):
            with pytest.raises(ConnectError, match="protocol banner"):
                host.get_fact(Command, command="true")
        with pytest.raises(ConnectError, match="protocol banner"):
            fact_cache.prefetch(host, [(Command, {"command": "echo other"})])
    assert attempts == ["@local"]
    assert not host.connected
