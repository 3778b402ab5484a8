"""Operations every subsystem's run may end with (as pyinfra keeps shared pieces in operations/util)."""

from __future__ import annotations

from collections.abc import Generator

from pyinfra import host, state
from pyinfra.api import StringCommand, operation

from twinstore import fact_cache


@operation(is_idempotent=False)
def written_to_disk() -> Generator[StringCommand, None, None]:
    """
    Flush what this run wrote: pyinfra writes files without fsync, and a power cut within half a
    minute of a run could leave a new boot script or resource file empty. Only when the run
    changes something on the host (planned changes in --dry, commands run while executing).
    """
    changed = fact_cache.changed_on(host) if state.is_executing else state.get_meta_for_host(host).ops_change > 0
    if not changed:
        host.noop("this run wrote nothing")
        return
    yield StringCommand("sync")
