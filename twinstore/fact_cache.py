"""Fact reads shared between operations until anything changes.

pyinfra 3 sends a command for every ``host.get_fact`` call, so a deploy that asks the same
question in several operations (the DRBD state for each resource, ``Sysctl`` for each key,
the packages list for each subsystem) pays a round trip each time. Here a fact is read once
per host and arguments, as pyinfra's get_fact takes them (defaults filled in, the connector
arguments in effect), and every remembered answer is forgotten as soon as any command other
than a fact read runs on any host, or a file is uploaded, and again when it ends. An operation
therefore never sees a state older than the last change, and a run that changes nothing reads
each fact once. After a change, a long run of misses reads the deploy's registered facts again
in one round trip.
"""

from __future__ import annotations

import contextlib
import copy
import inspect
import posixpath
import re
import shlex
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

from gevent.event import Event  # type: ignore[import-untyped]
from greenlet import getcurrent
from pyinfra.api import FactBase, QuoteString, StringCommand
from pyinfra.api.arguments import CONNECTOR_ARGUMENT_KEYS
from pyinfra.api.exceptions import ConnectError
from pyinfra.api.facts import _handle_fact_kwargs  # how pyinfra's get_fact takes a read's arguments
from pyinfra.api.host import Host
from pyinfra.facts.files import LINUX_STAT_COMMAND, Directory, File, FindInFile, Link, Sha1File
from pyinfra.facts.server import Sysctl
from pyinfra.facts.systemd import SystemdEnabled, SystemdStatus
from pyinfra.operations.util.files import adjust_regex

Key = tuple[str, str, str]
_answers: dict[Key, Any] = {}
# Bumped whenever something may have changed; a read that overlapped a change is not kept.
_generation = 0
# Greenlets currently reading a fact: their commands change nothing.
_reading: set[int] = set()
_installed = False
# Hosts on which this run changed something (a command other than a fact read, or an upload).
_changed: set[str] = set()
# Reads a prefetch is answering right now: a reader on another host's greenlet (the peer's
# DRBD state) waits for that answer instead of sending the same question again.
_pending: dict[Key, Event] = {}
# What the deploy's combined read asks on each host, and its keys: read again in one round trip
# when, after a change, an operation after another finds its facts forgotten (see get_fact).
_registered: dict[str, tuple[list[tuple[type[FactBase[Any]], dict[str, Any]]], Gate | None]] = {}
_registered_keys: dict[str, set[Key]] = {}
# Reads of registered facts that missed on each host since the last change.
_misses: dict[str, int] = {}
# The combined read costs as much as a few dozen single reads: it pays only when many reads
# follow without a change, as in a run that changed one thing early and checks the rest. That
# many misses in a row, with no change on any host in between, say the run is in such a stretch;
# a run that changes something in nearly every operation (a fresh node) never gets there.
REFRESH_AFTER_MISSES = 12
# Hosts this run could not connect to, and why. Each attempt waits out the connect timeout (a
# hung machine accepts the connection and never answers: 10 s and more), and a run that planned
# with a host unreachable must not change its mind half-way; so a host is tried once per run.
_unreachable: dict[str, str] = {}


@dataclass(frozen=True)
class _Read:
    """A fact read as pyinfra makes it (api/facts.py): the fact's arguments with every default
    filled in, and the connector arguments in effect (the call's, over its operation's, over
    the host's data and the config), which the command runs with."""

    key: Key
    fact_kwargs: dict[str, Any]
    connector_kwargs: dict[str, Any]


# What each remembered answer was read with, for a narrower read of an item fact (_narrowed).
_reads: dict[Key, _Read] = {}


def forget() -> None:
    global _generation
    _generation += 1
    _answers.clear()
    _reads.clear()
    _misses.clear()


@contextlib.contextmanager
def _changing() -> Iterator[None]:
    """Around a command that may change something: what was read before it is forgotten, and so
    is what another host's greenlet read while it ran (pyinfra runs hosts side by side)."""
    forget()
    try:
        yield
    finally:
        forget()


@contextlib.contextmanager
def _fact_read() -> Iterator[int]:
    """Mark this greenlet's commands as a fact read (they change nothing); yield the generation it starts in."""
    reader = id(getcurrent())
    nested = reader in _reading
    _reading.add(reader)
    try:
        yield _generation
    finally:
        if not nested:
            _reading.discard(reader)


# _read's answers, by the call and the connector arguments its operation and deploy set: what
# pyinfra's rule (pop_global_arguments) resolves a read with is the call's own arguments, those
# connector arguments, the host's data and the config, which do not change during a run; so the
# hundreds of operations that set none share one resolution (0.5 ms each, and a run asks for
# thousands: docs/measurements.md, 2026-12-03 and 2026-12-04). By the host's name and its state
# (deploy code passes pyinfra's context proxy, one object for every host), the state kept alive
# so that its id stays its own.
_read_memo: dict[tuple[str, int, str, str, str, str], tuple[_Read | None, object]] = {}
_PLAIN_TYPES = (str, int, float, bool, type(None))


def _plain(value: object) -> bool:
    """Whether a value's repr names it exactly, so that it can be part of a key (a pyinfra
    HiddenValue, for one, shows the same mask for any content)."""
    if isinstance(value, _PLAIN_TYPES):
        return True
    if isinstance(value, list | tuple):
        return all(_plain(item) for item in value)
    if isinstance(value, dict):
        return all(isinstance(key, str) and _plain(item) for key, item in value.items())
    return False


def _connector_part(arguments: Mapping[str, Any] | None) -> str | None:
    """What of an operation's or deploy's arguments a fact read depends on, as a key; None when
    it is not plain values."""
    items = sorted((key, value) for key, value in (arguments or {}).items() if key in CONNECTOR_ARGUMENT_KEYS)
    return repr(items) if _plain(items) else None


def _read(host: Host, fact_class: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> _Read | None:
    """The read pyinfra would make, or None for one the cache leaves to pyinfra: not a fact class,
    or arguments (the call's, or the connector arguments in effect) that are not plain values."""
    operation = _connector_part(cast(Mapping[str, Any] | None, host.current_op_global_arguments))
    deploy = _connector_part(cast(Mapping[str, Any] | None, host.current_deploy_kwargs))
    if operation is None or deploy is None or not _plain(args) or not _plain(kwargs):
        return None
    state = host.state
    memo = (host.name, id(state), repr(fact_class), repr((args, sorted(kwargs.items()))), operation, deploy)
    if memo not in _read_memo:
        _read_memo[memo] = (_read_as_pyinfra(host, fact_class, args, kwargs), state)
    return _read_memo[memo][0]


def _read_as_pyinfra(host: Host, fact_class: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> _Read | None:
    name = getattr(fact_class, "__qualname__", None)
    if name is None or not isinstance(fact_class, type) or not issubclass(fact_class, FactBase):
        return None
    fact_kwargs, global_kwargs = _handle_fact_kwargs(host.state, host, fact_class, args, kwargs)
    fact = fact_class()
    fact_kwargs.pop("self", None)
    if callable(fact.command):
        fact_kwargs = inspect.getcallargs(fact.command, **fact_kwargs)
        fact_kwargs.pop("self", None)
    connector_kwargs = {key: value for key, value in global_kwargs.items() if key in CONNECTOR_ARGUMENT_KEYS}
    if fact.shell_executable:
        connector_kwargs["_shell_executable"] = fact.shell_executable
    # The host's data or the config may set connector arguments too.
    if not _plain(connector_kwargs) or not _plain(fact_kwargs):
        return None
    module = getattr(fact_class, "__module__", "")
    arguments = repr((sorted(fact_kwargs.items()), sorted(connector_kwargs.items())))
    return _Read((host.name, f"{module}.{name}", arguments), fact_kwargs, connector_kwargs)


_MISSING = object()


def _remembered(fact_class: Any, read: _Read | None) -> Any:
    """The remembered answer to a read (a copy: an operation that edits its fact in place must
    not edit the next one's), or one narrowed from a wider read; _MISSING when there is none."""
    if read is None:
        return _MISSING
    if read.key in _answers:
        return copy.deepcopy(_answers[read.key])
    return _narrowed(fact_class, read)


def _narrowed(fact_class: Any, read: _Read) -> Any:
    """An item fact's answer for some items, from a remembered read of more of them with the same
    other arguments (the combined read asks for all of a node's volumes, each operation for its
    own); _MISSING when there is none. An item fact names its list argument
    (``items_argument``) and how to keep the part of an answer about some items (``narrow``)."""
    items_argument = getattr(fact_class, "items_argument", None)
    if items_argument is None:
        return _MISSING
    wanted = read.fact_kwargs.get(items_argument) or []
    others = {name: value for name, value in read.fact_kwargs.items() if name != items_argument}
    for key, wider in _reads.items():
        if key[:2] != read.key[:2] or key not in _answers or wider.connector_kwargs != read.connector_kwargs:
            continue
        items = wider.fact_kwargs.get(items_argument) or []
        if {name: value for name, value in wider.fact_kwargs.items() if name != items_argument} != others:
            continue
        if all(item in items for item in wanted):
            return fact_class.narrow(copy.deepcopy(_answers[key]), wanted)
    return _MISSING


def _key(host: Host, fact_class: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Key | None:
    read = _read(host, fact_class, args, kwargs)
    return read.key if read else None


FACT_MARKER = "#twinstore-fact"


@dataclass
class _Section:
    """One part of a prefetch command, and how its output answers one or more fact reads."""

    command: Any
    answers: Callable[[list[str]], dict[Key, Any]]


@dataclass(frozen=True)
class Gate:
    """Facts a combined read answers first, then a shell test: when the test fails, the read
    ends there and the facts after it are left to be read the normal way (a read that would
    wait, such as a stat of a volume whose I/O is frozen, is not sent at all)."""

    facts: tuple[tuple[type[FactBase[Any]], dict[str, Any]], ...]
    test: StringCommand


def _single(key: Key, fact: FactBase[Any], command: Any) -> _Section:
    return _Section(command, lambda lines: {key: fact.process(lines) if lines else fact.default()})


# Under TCG each program a fact script starts costs 60-100 ms, a fork 13 ms: the reads that
# pyinfra's operations make per path, unit or key are answered by one program for all of them.
# The format of pyinfra's own File, Directory and Link reads (stat -c '...'), whose process() parses it.
_STAT_FORMAT = shlex.split(LINUX_STAT_COMMAND)[-1]
_PATH_MARKER = "#twinstore-path "
_SYSCTL_KEY = re.compile(r"^[A-Za-z0-9_.-]+$")
_SINGLE_UNIT = {"user_mode": False, "machine": None, "user_name": None}


def _plain_path(kwargs: dict[str, Any]) -> str | None:
    """The path of a fact that takes only a path, if one program can be given it with others."""
    path = kwargs.get("path") if set(kwargs) == {"path"} else None
    if not isinstance(path, str) or not path.startswith("/") or "\n" in path or "\\" in path:
        return None
    return path


def _batch_kind(fact_class: type[FactBase[Any]], kwargs: dict[str, Any]) -> str | None:
    if fact_class in (File, Directory, Link) and _plain_path(kwargs):
        return "stat"
    if fact_class is Sha1File and _plain_path(kwargs):
        return "sha1"
    if fact_class in (SystemdStatus, SystemdEnabled):
        services = kwargs.get("services")
        if {k: v for k, v in kwargs.items() if k != "services"} == _SINGLE_UNIT and (
            isinstance(services, list) and len(services) == 1 and isinstance(services[0], str)
        ):
            return "systemd"
    if fact_class is Sysctl:
        keys = kwargs.get("keys")
        if set(kwargs) == {"keys"} and isinstance(keys, list) and len(keys) == 1 and _SYSCTL_KEY.match(str(keys[0])):
            return "sysctl"
    return None


Batched = list[tuple[Key, FactBase[Any], dict[str, Any]]]


def _stat_section(reads: Batched) -> _Section:
    """File, Directory and Link reads: one stat for every path, each answer as the fact's own command gives it."""
    paths = list(dict.fromkeys(kwargs["path"] for _, _, kwargs in reads))
    command = StringCommand(
        "stat", "--printf", QuoteString(f"{_PATH_MARKER}%n\\n{_STAT_FORMAT}\\n"), "--", *map(QuoteString, paths),
        "2>/dev/null;", "true",
    )  # fmt: skip

    def answers(lines: list[str]) -> dict[Key, Any]:
        found = {
            lines[i][len(_PATH_MARKER) :]: lines[i + 1]
            for i in range(len(lines) - 1)
            if lines[i].startswith(_PATH_MARKER)
        }
        result = {}
        for key, fact, kwargs in reads:
            line = found.get(kwargs["path"])
            result[key] = fact.process([line]) if line is not None else fact.default()
        return result

    return _Section(command, answers)


def _sha1_section(reads: Batched) -> _Section:
    """Sha1File reads: one sha1sum for every path (a missing one prints nothing, as alone)."""
    paths = list(dict.fromkeys(kwargs["path"] for _, _, kwargs in reads))
    command = StringCommand("sha1sum", "--", *map(QuoteString, paths), "2>/dev/null;", "true")

    def answers(lines: list[str]) -> dict[Key, Any]:
        # GNU text mode: 40 hex digits, two spaces, the name as given.
        found = {line[42:]: line for line in lines if len(line) > 42 and line[40:42] == "  "}
        result = {}
        for key, fact, kwargs in reads:
            fact.command(path=kwargs["path"])  # process() matches the line against this path
            line = found.get(kwargs["path"])
            result[key] = fact.process([line]) if line is not None else fact.default()
        return result

    return _Section(command, answers)


def _systemd_section(reads: Batched) -> _Section:
    """SystemdStatus and SystemdEnabled reads of single units: one systemctl show for all of them."""
    units = list(dict.fromkeys(kwargs["services"][0] for _, _, kwargs in reads))
    show = StringCommand(
        "systemctl", "show", "--all", "--property", "Id", "--property", "SubState", "--property", "UnitFileState",
        *map(QuoteString, units),
    )  # fmt: skip
    command = StringCommand("if command -v systemctl >/dev/null 2>&1; then", show, "; else exit 127; fi")

    def answers(lines: list[str]) -> dict[Key, Any]:
        # systemctl show prints the units in the order asked, a blank line between two.
        blocks: list[list[str]] = [[]]
        for line in lines:
            if line.strip():
                blocks[-1].append(line)
            elif blocks[-1]:
                blocks.append([])
        blocks = [block for block in blocks if block]
        if len(blocks) != len(units):
            return {}
        by_unit = dict(zip(units, blocks, strict=True))
        return {key: fact.process(by_unit[kwargs["services"][0]]) for key, fact, kwargs in reads}

    return _Section(command, answers)


def _sysctl_section(reads: Batched) -> _Section:
    """Sysctl reads of single keys: one sysctl for all of them."""
    keys = list(dict.fromkeys(kwargs["keys"][0] for _, _, kwargs in reads))
    command = StringCommand("sysctl", *map(QuoteString, keys), "2>/dev/null", "||", "true")

    def answers(lines: list[str]) -> dict[Key, Any]:
        values = Sysctl().process(lines)
        return {
            key: {kwargs["keys"][0]: values[kwargs["keys"][0]]} if kwargs["keys"][0] in values else {}
            for key, _, kwargs in reads
        }

    return _Section(command, answers)


_BATCH_SECTIONS: dict[str, Callable[[Batched], _Section]] = {
    "stat": _stat_section,
    "sha1": _sha1_section,
    "systemd": _systemd_section,
    "sysctl": _sysctl_section,
}


def prefetch(host: Host, facts: Sequence[tuple[type[FactBase[Any]], dict[str, Any]]], gate: Gate | None = None) -> None:
    """
    Read several facts in one round trip and remember each answer as if it had been read alone.

    + facts: (fact class, keyword arguments as the operations pass them)
    + gate: facts read first, and a test that must pass for the others to be read

    Each is read, and remembered, with the connector arguments in effect here (an operation's,
    inside one): reads that name other connector arguments go in a command of their own. A fact
    whose command fails, or whose required command is missing, is left to be read the normal
    way, so its errors and defaults stay pyinfra's own. pyinfra's per-path, per-unit and per-key
    facts are answered together, one program for all of a kind.
    """
    groups: dict[str, tuple[dict[str, Any], list[tuple[type[FactBase[Any]], _Read]]]] = {}
    seen: set[Key] = set()
    gate_facts = list(gate.facts) if gate else []
    for fact_class, kwargs in [*gate_facts, *facts]:
        read = _read(host, fact_class, (), kwargs)
        if read is None or read.key in _answers or read.key in seen:
            continue
        seen.add(read.key)
        connector = repr(sorted(read.connector_kwargs.items()))
        groups.setdefault(connector, (read.connector_kwargs, []))[1].append((fact_class, read))
    for connector_kwargs, reads in groups.values():
        _prefetch_together(host, connector_kwargs, reads, gate)


def _alone(fact_class: type[FactBase[Any]], read: _Read) -> _Section:
    """A fact's own command, as a section of a combined read."""
    fact = fact_class()
    command = _evaluate(fact.command, read.fact_kwargs)
    required = _evaluate(fact.requires_command, read.fact_kwargs)
    if required:
        # As pyinfra guards such a fact: a missing command leaves the fact unread here.
        guard = ["if", "command", "-v", required, ">/dev/null", "2>&1;", "then"]
        command = StringCommand(*guard, "(", command, ");", "else", "exit 127;", "fi")
    return _single(read.key, fact, command)


def _prefetch_together(
    host: Host,
    connector_kwargs: dict[str, Any],
    reads: list[tuple[type[FactBase[Any]], _Read]],
    gate: Gate | None,
) -> None:
    gated = {
        read.key for fact_class, kwargs in (gate.facts if gate else ()) if (read := _read(host, fact_class, (), kwargs))
    }
    sections = [_alone(fact_class, read) for fact_class, read in reads if read.key in gated]
    gate_after = len(sections)
    batched: dict[str, Batched] = {}
    for fact_class, read in reads:
        if read.key in gated:
            continue
        kind = _batch_kind(fact_class, read.fact_kwargs)
        if kind is not None:
            batched.setdefault(kind, []).append((read.key, fact_class(), read.fact_kwargs))
        else:
            sections.append(_alone(fact_class, read))
    sections += [_BATCH_SECTIONS[kind](batch) for kind, batch in batched.items()]
    if not sections:
        return
    parts: list[Any] = []
    for index, section in enumerate(sections):
        if gate is not None and index == gate_after:
            parts += ["(", gate.test, ")", ">/dev/null", "2>&1", "||", "exit 0;"]
        parts += [
            "echo",
            f"'{FACT_MARKER} {index}';",
            "(",
            section.command,
            ")",
            "2>/dev/null;",
            "echo",
            f'"{FACT_MARKER} {index} $?";',
        ]
    # Sent at the end in one write: a line at a time, the host's sshd wakes to encrypt and send
    # each, a cost that counts on a slow host (docs/measurements.md). The last line is a marker,
    # so $( ) strips no answer's newlines.
    parts = ["output=$(", *parts, ");", "printf", "'%s\\n'", '"$output"']
    if not host.connected:
        # As pyinfra's own fact reads do: a host left out by --limit (the peer) is connected
        # now, and one that cannot be reached raises ConnectError.
        _connect_once(host)
    keys = [read.key for _, read in reads]
    answered = Event()
    for key in keys:
        _pending.setdefault(key, answered)
    try:
        with _fact_read() as generation:
            status, output = host.run_shell_command(StringCommand(*parts), **connector_kwargs)
        if status and generation == _generation:
            _remember(sections, output.stdout_lines)
            _reads.update({read.key: read for _, read in reads if read.key in _answers})
    finally:
        for key in keys:
            if _pending.get(key) is answered:
                del _pending[key]
        answered.set()


def _connect_once(host: Host) -> None:
    """Connect to a host not connected yet (the peer --limit leaves out); raise ConnectError, at
    once for a host that already failed in this run."""
    if host.name in _unreachable:
        raise ConnectError(_unreachable[host.name])
    try:
        host.connect(reason="to read facts", raise_exceptions=True)
    except ConnectError as error:
        _unreachable[host.name] = str(error)
        raise


def _remember(sections: list[_Section], output: list[str]) -> None:
    for index, section in enumerate(sections):
        lines, exit_status = _section(output, index)
        if exit_status != 0:
            continue
        try:
            answers = section.answers(lines)
        except Exception:  # the normal read reports it the pyinfra way
            continue
        for key, answer in answers.items():
            _answers[key] = copy.deepcopy(answer)


@dataclass
class FactReads:
    """What one subsystem's deploy reads, as prefetch_for_operations takes it; added up across subsystems."""

    files: list[str] = field(default_factory=list)
    directories: list[str] = field(default_factory=list)
    links: list[str] = field(default_factory=list)
    services: list[str] = field(default_factory=list)
    sysctls: list[str] = field(default_factory=list)
    lines: list[tuple[str, str, bool]] = field(default_factory=list)
    facts: list[tuple[type[FactBase[Any]], dict[str, Any]]] = field(default_factory=list)
    # Read before everything else of a combined read, which stops there when its test fails.
    gate: Gate | None = None

    def __add__(self, other: FactReads) -> FactReads:
        if self.gate and other.gate and self.gate != other.gate:
            raise ValueError("a combined read has one gate")
        return FactReads(
            files=self.files + other.files,
            directories=self.directories + other.directories,
            links=self.links + other.links,
            services=self.services + other.services,
            sysctls=self.sysctls + other.sysctls,
            lines=self.lines + other.lines,
            facts=self.facts + other.facts,
            gate=self.gate or other.gate,
        )


def prefetch_reads(host: Host, reads: FactReads, register: bool = False) -> None:
    """
    prefetch_for_operations for a FactReads.

    + register: these are the deploy's combined read, read again after a change when the
      operations after it keep missing (get_fact); a subsystem's own prefetch (a no-op after the
      combined read) does not register, or the last one planned would replace the deploy's
    """
    prefetch_for_operations(
        host,
        files=reads.files,
        directories=reads.directories,
        links=reads.links,
        services=reads.services,
        sysctls=reads.sysctls,
        lines=reads.lines,
        facts=reads.facts,
        register=register,
        gate=reads.gate,
    )


def prefetch_for_operations(
    host: Host,
    files: Sequence[str] = (),
    directories: Sequence[str] = (),
    links: Sequence[str] = (),
    services: Sequence[str] = (),
    sysctls: Sequence[str] = (),
    lines: Sequence[tuple[str, str, bool]] = (),
    facts: Sequence[tuple[type[FactBase[Any]], dict[str, Any]]] = (),
    register: bool = False,
    gate: Gate | None = None,
) -> None:
    """
    Read in one round trip what pyinfra's own operations ask about these paths, units and keys.

    + files: destinations of files.template/files.put (File, Sha1File, Directory of the parent)
    + directories: paths of files.directory (Directory)
    + links: paths of files.link (Link)
    + services: units of systemd.service (SystemdStatus, SystemdEnabled)
    + sysctls: keys of server.sysctl (Sysctl)
    + lines: (path, line, extended_regex) of files.line, its other flags left at their defaults (FindInFile)
    + facts: any other (fact class, keyword arguments), read in the same command
    + register: read them all again in one round trip when, after a change, reads of them keep missing
    + gate: facts read first, and a test that must pass for the others to be read
    """
    wanted: list[tuple[type[FactBase[Any]], dict[str, Any]]] = [*facts]
    wanted += [(Sysctl, {"keys": [key]}) for key in sysctls]
    for path, line, extended_regex in lines:
        # The exact arguments files.line passes, so its own read finds this answer.
        pattern = adjust_regex(line, escape_regex_characters=False)
        arguments = {"path": path, "pattern": pattern, "interpolate_variables": False, "extended_regex": extended_regex}
        wanted.append((FindInFile, arguments))
    for path in files:
        wanted += [(File, {"path": path}), (Directory, {"path": posixpath.dirname(path)}), (Sha1File, {"path": path})]
    wanted += [(Directory, {"path": path}) for path in directories]
    wanted += [(Link, {"path": path}) for path in links]
    for service in services:
        wanted += [(SystemdStatus, {"services": [service]}), (SystemdEnabled, {"services": [service]})]
    if register:
        _registered[host.name] = (wanted, gate)
        _registered_keys[host.name] = {key for fact, kwargs in wanted if (key := _key(host, fact, (), kwargs))}
    prefetch(host, wanted, gate)


def _evaluate(attribute: Any, kwargs: dict[str, Any]) -> Any:
    return attribute(**kwargs) if callable(attribute) else attribute


def _section(lines: list[str], index: int) -> tuple[list[str], int | None]:
    start = f"{FACT_MARKER} {index}"
    try:
        begin = lines.index(start)
    except ValueError:
        return [], None
    for position in range(begin + 1, len(lines)):
        if lines[position].startswith(f"{start} "):
            return lines[begin + 1 : position], int(lines[position].split()[-1])
    return [], None


def _refresh_due(host: Host, key: Key) -> bool:
    """Whether this miss is one too many: the combined read then answers it and what follows."""
    if key not in _registered_keys.get(host.name, ()) or not host.state.is_executing:
        return False
    _misses[host.name] = _misses.get(host.name, 0) + 1
    if _misses[host.name] < REFRESH_AFTER_MISSES:
        return False
    _misses[host.name] = 0
    return True


def changed_on(host: Host) -> bool:
    """Whether this run has run a command (other than a fact read) or uploaded a file on the host."""
    return host.name in _changed


def install() -> None:
    """Make ``Host.get_fact`` remember answers until the next change. Safe to call again."""
    global _installed
    if _installed:
        return
    _installed = True
    read_fact: Callable[..., Any] = Host.get_fact
    run_shell_command: Callable[..., Any] = Host.run_shell_command
    put_file: Callable[..., Any] = Host.put_file
    rsync: Callable[..., Any] = Host.rsync

    def get_fact(self: Host, fact: Any, *args: Any, **kwargs: Any) -> Any:
        read = _read(self, fact, args, kwargs)
        key = read.key if read else None
        if key is not None and key not in _answers and key in _pending:
            _pending[key].wait()
        answer = _remembered(fact, read)
        if answer is _MISSING and key is not None and _refresh_due(self, key):
            prefetch(self, *_registered[self.name])
            answer = _remembered(fact, read)
        if answer is not _MISSING:
            return answer
        if not self.connected:
            _connect_once(self)
        with _fact_read() as generation:
            answer = read_fact(self, fact, *args, **kwargs)
        if read is not None and generation == _generation:
            _answers[read.key] = copy.deepcopy(answer)
            _reads[read.key] = read
        return answer

    def run_command(self: Host, *args: Any, **kwargs: Any) -> Any:
        if id(getcurrent()) in _reading:
            return run_shell_command(self, *args, **kwargs)
        # pyinfra's own probes while connecting change nothing.
        if self.state.is_executing:
            _changed.add(self.name)
        with _changing():
            return run_shell_command(self, *args, **kwargs)

    def upload(self: Host, *args: Any, **kwargs: Any) -> Any:
        _changed.add(self.name)
        with _changing():
            return put_file(self, *args, **kwargs)

    def sync(self: Host, *args: Any, **kwargs: Any) -> Any:
        _changed.add(self.name)
        with _changing():
            return rsync(self, *args, **kwargs)

    Host.get_fact = get_fact  # type: ignore[method-assign,assignment]
    Host.run_shell_command = run_command  # type: ignore[method-assign]
    Host.put_file = upload  # type: ignore[method-assign]
    Host.rsync = sync  # type: ignore[method-assign]
