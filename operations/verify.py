"""Scheduled verify: DRBD compares both copies of every resource, block by block, while the pair serves.

A systemd timer on the pair's first node (``config.verifier``) runs /usr/local/sbin/twinstore-verify
on ``verify.schedule``: ``drbdadm verify`` of each resource in turn, with the checksum of
``drbd_options.verify_alg``, and its outcome written to /var/lib/twinstore/verify/NAME. Blocks that
differ are marked out of sync and stay so; the health report (operations/health.py) names them,
when they were found and the repair, and counts a resource that went unverified for longer than
``verify.max_age_days`` as a problem. Verify never changes data: which copy is right is the
administrator's call (README, "Scheduled verify").

The other node gets the same script and units with its timer off, so moving the schedule to it is
a change of ``config.verifier`` alone.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pyinfra import host
from pyinfra.api import deploy
from pyinfra.operations import files, systemd
from pyinfra.operations.util import any_changed

from facts.health import VERIFY_STATE, VERIFY_TIMER_FILE
from operations.util import unit_state
from twinstore.config import StorageConfig
from twinstore.fact_cache import FactReads, prefetch_reads
from twinstore.templating import jinja_env_kwargs

TEMPLATES = Path(__file__).resolve().parent.parent / "templates" / "verify"
SCRIPT = "/usr/local/sbin/twinstore-verify"
SERVICE = "twinstore-verify.service"
TIMER = "twinstore-verify.timer"
# How often the script looks whether a verify has ended: a verify of a volume takes minutes.
POLL_SECONDS = 5


def verify_script_values(config: StorageConfig) -> dict[str, Any]:
    return {
        "state_dir": VERIFY_STATE,
        "proc_drbd": "/proc/drbd",
        "resources": config.resource_minors,
        "poll_seconds": POLL_SECONDS,
    }


def fact_reads(config: StorageConfig) -> FactReads:
    return FactReads(files=[SCRIPT, f"/etc/systemd/system/{SERVICE}", VERIFY_TIMER_FILE], services=[TIMER])


@deploy("Scheduled verify of the DRBD resources")
def configure_verify(config: StorageConfig) -> None:
    prefetch_reads(host, fact_reads(config))
    files.template(
        name=f"Verify script {SCRIPT}",
        src=str(TEMPLATES / "twinstore-verify.sh.j2"),
        dest=SCRIPT,
        mode="755",
        jinja_env_kwargs=jinja_env_kwargs(),
        **verify_script_values(config),
    )
    service = files.template(
        name=f"Verify unit {SERVICE}",
        src=str(TEMPLATES / "twinstore-verify.service.j2"),
        dest=f"/etc/systemd/system/{SERVICE}",
        script=SCRIPT,
    )
    schedule = config.verify.schedule
    runs_here = schedule is not None and host.name == config.verifier
    if schedule is None:
        unit_state(name=f"{TIMER} off: no verify is scheduled", service=TIMER, running=False, enabled=False)
        files.file(name=f"No verify timer {VERIFY_TIMER_FILE}", path=VERIFY_TIMER_FILE, present=False)
        return
    # The timer file's time is when the schedule was set: the health report ages an unverified
    # resource from it.
    timer = files.template(
        name=f"Verify timer {TIMER}, {schedule}",
        src=str(TEMPLATES / "twinstore-verify.timer.j2"),
        dest=VERIFY_TIMER_FILE,
        schedule=schedule,
    )
    systemd.daemon_reload(name="Reload systemd units", _if=any_changed(service, timer))
    unit_state(
        # One name on both nodes: pyinfra lists an operation once for all hosts.
        name=f"{TIMER} on {config.verifier} only",
        service=TIMER,
        running=runs_here,
        enabled=runs_here,
    )
