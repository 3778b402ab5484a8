"""Fencing: when the replication link fails while both nodes serve, one powers the other off.

DRBD runs with ``fencing resource-and-stonith``: a Primary that loses its peer freezes I/O on
the resource and runs the fence-peer handler, which powers the peer off through the peer's
fence device (a ClusterLabs fence agent and the peer's BMC, reached over a network other than
the replication link) and lets I/O resume only once the agent reports the peer off. Both nodes
get there at once when the link fails; the one with the lower o2cb number fences at once, the
other waits ``fencing.delay_seconds`` first (the side o2cb's own quorum keeps), so one node
survives. Without a fence device on both nodes (``dual_primary_without_fencing``) the handler
only takes the peer as outdated, as before: ``fencing resource-only``.
"""

from __future__ import annotations

import posixpath
from pathlib import Path
from typing import Any

from pyinfra import host
from pyinfra.api import deploy
from pyinfra.operations import files

from facts.drbd import SuspendedIo, io_flowing
from facts.health import FENCE_STATE
from operations.util import private_template
from twinstore.config import StorageConfig
from twinstore.fact_cache import FactReads, Gate, prefetch_reads
from twinstore.templating import jinja_env_kwargs
from twinstore.validation import Problem, host_source, stop

TEMPLATES = Path(__file__).resolve().parent.parent / "templates" / "fencing"
# DRBD's fence-peer handler (templates/drbd/global_common.conf.j2 names it).
FENCE_PEER = "/usr/local/sbin/twinstore-fence-peer"
# The peer's fence device: the agent's options and the device's password, root's alone.
PEER_DEVICE = "/etc/twinstore/fence-peer"
# The handler's last fencing (facts/health.py reads it for status.py).
STATE_DIRECTORY = posixpath.dirname(FENCE_STATE)
LOCK_FILE = "/run/twinstore-fence-peer.lock"
# Names the resource the administrator promotes alone right now (--data promote_alone): the
# handler then answers that the peer is outdated (operations/drbd.py writes it).
PROMOTE_ALONE_FLAG = "/run/twinstore/promote-alone"


def handler_values(config: StorageConfig, name: str) -> dict[str, Any]:
    """The handler template's values on node ``name``."""
    peer = config.peer_of(name)
    return {
        "stonith": config.stonith,
        "agent": peer.fence.agent if peer.fence else "",
        "delay": config.fence_delay(name),
        "peer_delay": config.fence_delay(peer.name),
        "agent_timeout": config.fencing.agent_timeout_seconds,
        "device_file": PEER_DEVICE,
        "state_directory": STATE_DIRECTORY,
        "state_file": FENCE_STATE,
        "lock_file": LOCK_FILE,
        "promote_alone_flag": PROMOTE_ALONE_FLAG,
    }


def refuse_while_frozen(config: StorageConfig) -> None:
    """
    End the run while I/O on a resource is frozen here, before any operation: the combined
    read, which answers this first, then stopped short of the reads that would wait until I/O
    resumes (a stat of a volume on it; see fact_reads' gate).
    """
    suspended = host.get_fact(SuspendedIo)
    frozen = [name for name, resource in config.drbd_resources.items() if resource.minor in suspended]
    if not frozen:
        return
    peer = config.peer_of(host.name).name
    source = host_source(host, "drbd_resources")
    stop(
        [
            Problem(
                source,
                f"drbd_resources.{name}",
                f"({host.name}: I/O frozen)",
                f"{name} on {host.name}: I/O is frozen: DRBD lost {peer} and fencing has not confirmed it off "
                f"(journalctl -t twinstore-fence-peer). Make sure {peer} is off, then `drbdadm resume-io all` on "
                f"{host.name} (README, Fencing); no deploy runs while writes wait",
            )
            for name in frozen
        ]
    )


# The combined read's first answer: whether I/O is frozen, and nothing after it if it is.
FROZEN_GATE = Gate(facts=((SuspendedIo, {}),), test=io_flowing())


def fact_reads(config: StorageConfig) -> FactReads:
    return FactReads(files=[FENCE_PEER, PEER_DEVICE], directories=["/etc/twinstore"], gate=FROZEN_GATE)


@deploy("Fencing")
def configure_fencing(config: StorageConfig) -> None:
    prefetch_reads(host, fact_reads(config))
    peer = config.peer_of(host.name)
    files.directory(name="twinstore's settings directory", path="/etc/twinstore", mode="755")
    if peer.fence is not None and config.stonith:
        private_template(
            name=f"How to power {peer.name} off ({peer.fence.agent}, {PEER_DEVICE})",
            src=str(TEMPLATES / "peer-device.j2"),
            dest=PEER_DEVICE,
            peer=peer.name,
            agent=peer.fence.agent,
            options=peer.fence.options,
            password=peer.fence.secret,
        )
    else:
        files.file(name=f"No fence device ({PEER_DEVICE})", path=PEER_DEVICE, present=False)
    files.template(
        name=f"DRBD fence-peer handler {FENCE_PEER}",
        src=str(TEMPLATES / "fence-peer.sh.j2"),
        dest=FENCE_PEER,
        mode="755",
        jinja_env_kwargs=jinja_env_kwargs(),
        **handler_values(config, host.name),
    )
