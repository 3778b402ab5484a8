"""Faults and snapshots through each guest's QEMU Machine Protocol socket.

A power cut is ``quit``: the guest loses its memory and gets no shutdown, while what it had
written to its virtual disks stays (qemu drains and closes them, as a disk keeps what it
acknowledged). A pulled cable is ``set_link`` on the guest's NIC. Snapshots of the whole lab
are ``savevm``/``loadvm`` of every running guest, taken while all of them are paused, so the
peers see a pause, not a fault.
"""

from __future__ import annotations

import contextlib
import json
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from lab.settings import Guest

# NIC device ids in qemu_command; "link" (the back-to-back cable) exists on storage guests only.
CABLES = ("lan", "link")
REPLY_TIMEOUT_S = 600.0


class QmpError(RuntimeError):
    pass


def qmp_socket(guest: Guest) -> Path:
    return guest.run_dir / f"{guest.name}.qmp"


def _read_message(stream: Any) -> dict[str, Any]:
    line = stream.readline()
    if not line:
        raise QmpError("the QMP socket closed")
    message: dict[str, Any] = json.loads(line)
    return message


def _reply(stream: Any) -> Any:
    """The answer to the last command, skipping the asynchronous events qemu sends meanwhile."""
    while True:
        message = _read_message(stream)
        if "return" in message:
            return message["return"]
        if "error" in message:
            raise QmpError(message["error"].get("desc", str(message["error"])))


def execute(guest: Guest, command: str, arguments: dict[str, Any] | None = None) -> Any:
    """Run one QMP command on a guest and return qemu's answer."""
    path = qmp_socket(guest)
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection:
        connection.settimeout(REPLY_TIMEOUT_S)
        connection.connect(str(path))
        stream = connection.makefile("rw", encoding="utf-8", newline="\n")
        greeting = _read_message(stream)
        if "QMP" not in greeting:
            raise QmpError(f"{path} did not greet as QMP: {greeting}")
        for name, args in (("qmp_capabilities", None), (command, arguments)):
            request: dict[str, Any] = {"execute": name}
            if args:
                request["arguments"] = args
            stream.write(json.dumps(request) + "\n")
            stream.flush()
            try:
                answer = _reply(stream)
            except QmpError as error:
                raise QmpError(f"{guest.name}: {name}: {error}") from None
        return answer


def human(guest: Guest, command_line: str) -> str:
    """An HMP command (savevm, loadvm) through QMP; qemu reports their errors as text."""
    output = str(execute(guest, "human-monitor-command", {"command-line": command_line}))
    if "error" in output.lower():
        raise QmpError(f"{guest.name}: {command_line}: {output.strip()}")
    return output


def power_off(guest: Guest) -> None:
    """Cut the guest's power: no shutdown runs, its memory is gone, its disks keep what they hold."""
    # qemu may close the socket before it answers a quit.
    with contextlib.suppress(QmpError, OSError):
        execute(guest, "quit")


def set_cable(guest: Guest, cable: str, connected: bool) -> None:
    if cable not in CABLES or (cable == "link" and not guest.storage):
        raise ValueError(f"{guest.name} has no cable {cable!r} (cables: lan, and link on storage guests)")
    execute(guest, "set_link", {"name": cable, "up": connected})


def pause(guest: Guest) -> None:
    execute(guest, "stop")


def resume(guest: Guest) -> None:
    execute(guest, "cont")


def hard_reset(guest: Guest) -> None:
    """The reset button: the guest reboots at once, without a shutdown."""
    execute(guest, "system_reset")


@contextlib.contextmanager
def all_paused(guests: list[Guest]) -> Iterator[None]:
    """Every guest paused for the block and resumed after it, even when it fails: peers see a
    pause, not a fault, and no guest is left paused for the next command to hang on."""
    for guest in guests:
        pause(guest)
    try:
        yield
    finally:
        for guest in guests:
            resume(guest)


def save_snapshot(guests: list[Guest], tag: str, then: Callable[[], None] | None = None) -> float:
    """Save every guest's memory and disks under tag, all paused together, and run then (if
    given) before they resume; return seconds taken."""
    started = time.monotonic()
    with all_paused(guests):
        for guest in guests:
            human(guest, f"savevm {tag}")
        if then is not None:
            then()
    return time.monotonic() - started


def load_snapshot(guests: list[Guest], tag: str) -> float:
    """Put every guest back to the snapshot tag, all paused until each is loaded; return seconds taken."""
    started = time.monotonic()
    with all_paused(guests):
        for guest in guests:
            human(guest, f"loadvm {tag}")
    return time.monotonic() - started
