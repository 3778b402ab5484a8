"""Scheduled verify and a new pair's zeroing on the converged lab: verify throughput per resource,
and what writing zeros over a new backing volume costs per GiB, against writing them out.

    python bench/verify.py [--gib N] [--label TEXT]

Starts from the converged snapshot (`python -m lab snapshot load converged`) and goes back to it
at the end. On fiori: `/usr/local/sbin/twinstore-verify RESOURCE` for each resource (its record
gives the verify's own start and end); then a scratch logical volume of --gib GiB, zeroed with
`blkdiscard --zeroout` (what the deploy runs: the kernel's write-zeroes where the disk offers it)
and written out with `dd` from /dev/zero (what a disk without write-zeroes costs), then removed.
The JSON in bench/results/ records each figure, per GiB, and their ratios to the verify's time
per GiB in the same run (a verify, like the initial sync the zeroing replaces, runs at the resync
rate over the replication link).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import time
from datetime import UTC, datetime
from typing import Any

from grow import SNAPSHOT, lab
from noop import RESULTS, commit, machine

from lab.machines import ssh_command

NODE = "fiori"
SCRATCH = "vg0/bench-zero"


def on(command: str) -> str:
    result = subprocess.run(ssh_command(NODE, command), capture_output=True, text=True, check=True, timeout=3600)
    return result.stdout


def timed_on(command: str) -> float:
    started = time.monotonic()
    on(command)
    return round(time.monotonic() - started, 2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--gib", type=int, default=1, help="size of the scratch volume (default 1)")
    parser.add_argument("--label", default="")
    args = parser.parse_args()
    lab("snapshot", "load", SNAPSHOT)
    try:
        verifies: dict[str, dict[str, Any]] = {}
        for resource, minor in (("drbd0", 0), ("drbd1", 1)):
            on(f"/usr/local/sbin/twinstore-verify {resource}")
            start, end, outcome, oos = on(f"cat /var/lib/twinstore/verify/{resource}").split()
            size = int(on(f"cat /sys/block/drbd{minor}/size")) * 512
            seconds = int(end) - int(start)
            verifies[resource] = {
                "bytes": size,
                "result": outcome,
                "out_of_sync_kib": int(oos),
                "seconds": seconds,
                "mb_per_s": round(size / 1e6 / max(seconds, 1), 1),
                "s_per_gib": round(seconds / (size / 2**30), 1),
            }
            print(f"verify {resource}: {size / 2**30:.2f} GiB in {seconds} s ({outcome}, {oos} KiB out of sync)")
        on(f"lvcreate -q -y -L {args.gib}G -n {SCRATCH.split('/')[1]} {SCRATCH.split('/')[0]}")
        try:
            zeroout_s = timed_on(f"blkdiscard --zeroout /dev/{SCRATCH}")
            written_s = timed_on(
                f"dd if=/dev/zero of=/dev/{SCRATCH} bs=1M count={args.gib * 1024} oflag=direct status=none"
            )
        finally:
            on(f"lvremove -q -y {SCRATCH}")
        print(f"zeroing {args.gib} GiB: blkdiscard --zeroout {zeroout_s} s, written out {written_s} s")
    finally:
        lab("snapshot", "load", SNAPSHOT)

    verify_s_per_gib = max(entry["s_per_gib"] for entry in verifies.values())
    now = datetime.now(UTC)
    result: dict[str, Any] = {
        "kind": "verify",
        "taken": now.isoformat(timespec="seconds"),
        "label": args.label,
        "commit": commit(),
        "machine": machine(),
        "node": NODE,
        "verifies": verifies,
        "zeroing": {
            "gib": args.gib,
            "zeroout_s_per_gib": round(zeroout_s / args.gib, 2),
            "written_out_s_per_gib": round(written_s / args.gib, 2),
            "zeroout_per_verify": round(zeroout_s / args.gib / verify_s_per_gib, 3),
            "written_out_per_verify": round(written_s / args.gib / verify_s_per_gib, 3),
        },
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"verify-{now.strftime('%Y%m%dT%H%M%SZ')}.json"
    path.write_text(json.dumps(result, indent=2) + "\n")
    print(path)


if __name__ == "__main__":
    main()
