"""Fact reads shared between operations until anything changes.

pyinfra 3 sends a command for every ``host.get_fact`` call, so a deploy that asks the same
question in several operations (the DRBD state for each resource, ``Sysctl`` for each key,
the packages list for each subsystem) pays a round trip each time. Here a fact is read once
per host and arguments, and every remembered answer is forgotten as soon as any command
other than a fact read runs on any host, or a file is uploaded. An operation therefore never
sees a state older than the last change, and a run that changes nothing reads each fact once.
"""

from __future__ import annotations

import contextlib
import copy
import posixpath
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from greenlet import getcurrent
from pyinfra.api import FactBase, StringCommand
from pyinfra.api.host import Host
from pyinfra.facts.files import Directory, File, FindInFile, Sha1File
from pyinfra.facts.server import Sysctl
from pyinfra.facts.systemd import SystemdEnabled, SystemdStatus
from pyinfra.operations.util.files import adjust_regex

_answers: dict[tuple[str, str, str], Any] = {}
# Bumped whenever something may have changed; a read that overlapped a change is not kept.
_generation = 0
# Greenlets currently reading a fact: their commands change nothing.
_reading: set[int] = set()
_installed = False


def forget() -> None:
    global _generation
    _generation += 1
    _answers.clear()


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


def _key(host: Host, fact: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[str, str, str] | None:
    name = getattr(fact, "__qualname__", None)
    if name is None:
        return None
    module = getattr(fact, "__module__", "")
    # Facts take plain values (strings, numbers, lists, tuples); their repr names them exactly.
    return (host.name, f"{module}.{name}", repr((args, sorted(kwargs.items()))))


FACT_MARKER = "#twinstore-fact"


def prefetch(host: Host, facts: list[tuple[type[FactBase[Any]], dict[str, Any]]]) -> None:
    """
    Read several facts in one round trip and remember each answer as if it had been read alone.

    + facts: (fact class, keyword arguments exactly as the operations pass them)

    A fact whose command fails, or whose required command is missing, is left to be read the
    normal way, so its errors and defaults stay pyinfra's own.
    """
    wanted: list[tuple[tuple[str, str, str], FactBase[Any], Any]] = []
    for fact_class, kwargs in facts:
        key = _key(host, fact_class, (), kwargs)
        fact = fact_class()
        if key is None or key in _answers:
            continue
        command = _evaluate(fact.command, kwargs)
        required = _evaluate(fact.requires_command, kwargs)
        if required:
            # As pyinfra guards such a fact: a missing command leaves the fact unread here.
            guard = ["if", "command", "-v", required, ">/dev/null", "2>&1;", "then"]
            command = StringCommand(*guard, "(", command, ");", "else", "exit 127;", "fi")
        wanted.append((key, fact, command))
    if not wanted:
        return
    parts: list[Any] = []
    for index, (_, _, command) in enumerate(wanted):
        parts += [
            "echo",
            f"'{FACT_MARKER} {index}';",
            "(",
            command,
            ")",
            "2>/dev/null;",
            "echo",
            f'"{FACT_MARKER} {index} $?";',
        ]
    with _fact_read() as generation:
        status, output = host.run_shell_command(StringCommand(*parts))
    if not status or generation != _generation:
        return
    for index, (key, fact, _) in enumerate(wanted):
        lines, exit_status = _section(output.stdout_lines, index)
        if exit_status != 0:
            continue
        try:
            answer = fact.process(lines) if lines else fact.default()
        except Exception:  # the normal read reports it the pyinfra way
            continue
        _answers[key] = copy.deepcopy(answer)


@dataclass
class FactReads:
    """What one subsystem's deploy reads, as prefetch_for_operations takes it; added up across subsystems."""

    files: list[str] = field(default_factory=list)
    directories: list[str] = field(default_factory=list)
    services: list[str] = field(default_factory=list)
    sysctls: list[str] = field(default_factory=list)
    lines: list[tuple[str, str, bool]] = field(default_factory=list)
    facts: list[tuple[type[FactBase[Any]], dict[str, Any]]] = field(default_factory=list)

    def __add__(self, other: FactReads) -> FactReads:
        return FactReads(
            files=self.files + other.files,
            directories=self.directories + other.directories,
            services=self.services + other.services,
            sysctls=self.sysctls + other.sysctls,
            lines=self.lines + other.lines,
            facts=self.facts + other.facts,
        )


def prefetch_reads(host: Host, reads: FactReads) -> None:
    """prefetch_for_operations for a FactReads."""
    prefetch_for_operations(
        host,
        files=reads.files,
        directories=reads.directories,
        services=reads.services,
        sysctls=reads.sysctls,
        lines=reads.lines,
        facts=reads.facts,
    )


def prefetch_for_operations(
    host: Host,
    files: Sequence[str] = (),
    directories: Sequence[str] = (),
    services: Sequence[str] = (),
    sysctls: Sequence[str] = (),
    lines: Sequence[tuple[str, str, bool]] = (),
    facts: Sequence[tuple[type[FactBase[Any]], dict[str, Any]]] = (),
) -> None:
    """
    Read in one round trip what pyinfra's own operations ask about these paths, units and keys.

    + files: destinations of files.template/files.put (File, Sha1File, Directory of the parent)
    + directories: paths of files.directory (Directory)
    + services: units of systemd.service (SystemdStatus, SystemdEnabled)
    + sysctls: keys of server.sysctl (Sysctl)
    + lines: (path, line, extended_regex) of files.line, its other flags left at their defaults (FindInFile)
    + facts: any other (fact class, keyword arguments), read in the same command
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
    for service in services:
        unit = {"user_mode": False, "machine": None, "user_name": None, "services": [service]}
        wanted += [(SystemdStatus, unit), (SystemdEnabled, unit)]
    prefetch(host, wanted)


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
        key = _key(self, fact, args, kwargs)
        if key is not None and key in _answers:
            # A copy: an operation that edits its fact in place must not edit the next one's.
            return copy.deepcopy(_answers[key])
        with _fact_read() as generation:
            answer = read_fact(self, fact, *args, **kwargs)
        if key is not None and generation == _generation:
            _answers[key] = copy.deepcopy(answer)
        return answer

    def run_command(self: Host, *args: Any, **kwargs: Any) -> Any:
        if id(getcurrent()) not in _reading:
            forget()
        return run_shell_command(self, *args, **kwargs)

    def upload(self: Host, *args: Any, **kwargs: Any) -> Any:
        forget()
        return put_file(self, *args, **kwargs)

    def sync(self: Host, *args: Any, **kwargs: Any) -> Any:
        forget()
        return rsync(self, *args, **kwargs)

    Host.get_fact = get_fact  # type: ignore[method-assign,assignment]
    Host.run_shell_command = run_command  # type: ignore[method-assign]
    Host.put_file = upload  # type: ignore[method-assign]
    Host.rsync = sync  # type: ignore[method-assign]
