"""How an operation tells the administrator why it waits, in every run mode."""

from __future__ import annotations

import time

from pyinfra import host, logger, state
from pyinfra.api.operation import OperationMeta


def report(message: str) -> None:
    """
    Say why an operation does nothing (yet): a warning while executing, a noop while planning.

    + message: what to report
    """
    # pyinfra hides noop reasons without -v, and an administrator must see that a volume
    # waits for its peer; while planning (and under --dry) the noop is enough.
    if state.is_executing:
        host.log(message, logger.warning)
    else:
        host.noop(message)


def utc(seconds: int, precision: str = "%H:%M:%S") -> str:
    """A moment, in seconds since the epoch, as the messages print it: 2026-11-30 19:55:02 UTC."""
    return time.strftime(f"%Y-%m-%d {precision} UTC", time.gmtime(seconds))


def changes(meta: OperationMeta) -> bool:
    """Whether an earlier operation changed something: its result once run, its plan before."""
    if meta.is_complete():
        return meta.did_change()
    return meta.will_change
