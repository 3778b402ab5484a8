"""A storage run fails as a whole: pyinfra's fail-percent, applied to the storage group.

pyinfra runs each operation on every host before the next one, and by default goes on with
the hosts that did not fail. For a storage pair that is wrong: both nodes take some steps
together (a move of the replication link takes both out of service and brings both back),
and a node must not go on alone after its peer failed half-way. With ``FAIL_PERCENT = 0``
pyinfra asks ``should_raise_failed_hosts`` after every failure; this rule stops the run when a
storage node failed while executing, and lets it go on for other hosts (NIS, NFS clients).
A node that cannot be reached at connect time is not a failure here: the deploy itself
decides what it may do without it (and refuses, by name, what it may not).
"""

from __future__ import annotations

from collections.abc import Callable

from pyinfra import logger
from pyinfra.api.state import State, StateStage

from twinstore.validation import STORAGE_GROUP

Rule = Callable[[State], bool]


def storage_fails_whole(previous: Rule | None = None) -> Rule:
    """The rule for ``state.should_raise_failed_hosts``; ``previous`` decides for every other failure."""

    def should_raise(state: State) -> bool:
        failed = sorted(host.name for host in state.failed_hosts if STORAGE_GROUP in host.groups)
        if failed and state.current_stage == StateStage.Execute:
            logger.error(
                f"twinstore: {', '.join(failed)} failed; a storage run stops as a whole, so that no node goes "
                "on alone with a step its peer did not finish"
            )
            return True
        return previous(state) if previous is not None else False

    should_raise.twinstore_rule = True  # type: ignore[attr-defined]
    return should_raise


def install(state: State) -> None:
    """Make every storage run of this process fail as a whole (once; keeps a rule pyinfra set, such as its prompt)."""
    current = state.should_raise_failed_hosts
    if getattr(current, "twinstore_rule", False):
        return
    state.should_raise_failed_hosts = storage_fails_whole(current)
