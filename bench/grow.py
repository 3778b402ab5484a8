"""Online grow on the converged lab: how long the deploy takes to grow each volume, against a no-op
deploy taken in the same run.

    python bench/grow.py [--by MiB] [--label TEXT]

Starts from the converged snapshot (`python -m lab snapshot load converged`), and goes back to it
before each grow and at the end. For each volume alone (rep-no: ext4 on each node; rep-drbd0 and
rep-drbd1: DRBD backing volumes under OCFS2), the deploy runs with the volume `--by` MiB larger;
the JSON in bench/results/ records each wall time, the no-op's, their ratios, the grown sizes and
the machine. A DRBD grow writes the new space with zeros through DRBD once (README, "Growing a
volume"): its extra time over an ext4 grow is mostly that write over the replication link.
"""

from __future__ import annotations

import argparse
import copy
import json
import runpy
import subprocess
import sys
from datetime import UTC, datetime

from noop import INVENTORY, RESULTS, ROOT, commit, machine, timed

SNAPSHOT = "converged"
VOLUMES = ("rep-no", "rep-drbd0", "rep-drbd1")


def mib(size: str) -> int:
    number, unit = float(size[:-1]), size[-1].upper()
    return int(number * {"M": 1, "G": 1024, "T": 1024**2}[unit])


def lab(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "lab", *args], cwd=ROOT, check=True, capture_output=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--by", type=int, default=256, help="MiB added to each volume (default 256)")
    parser.add_argument("--label", default="")
    args = parser.parse_args()
    deploy = [sys.executable, "-m", "pyinfra", "-y", INVENTORY, "deploy.py"]
    configured = runpy.run_path(str(ROOT / "lab" / "group_data" / "storage.py"))["logical_volumes"]

    lab("snapshot", "load", SNAPSHOT)
    noop_s = timed(deploy)
    grows = {}
    for name in VOLUMES:
        volumes = copy.deepcopy(configured)
        volumes[name]["size"] = f"{mib(configured[name]['size']) + args.by}M"
        lab("snapshot", "load", SNAPSHOT)
        took = timed([*deploy, "--data", f"logical_volumes={json.dumps(volumes)}"])
        again = timed([*deploy, "--data", f"logical_volumes={json.dumps(volumes)}"])
        grows[name] = {
            "from": configured[name]["size"],
            "to": volumes[name]["size"],
            "role": configured[name]["role"],
            "grow_s": took,
            "rerun_s": again,
            "grow_per_noop": round(took / noop_s, 2),
        }
        print(f"{name}: {configured[name]['size']} -> {volumes[name]['size']} in {took} s (no-op {noop_s} s)")
    lab("snapshot", "load", SNAPSHOT)

    now = datetime.now(UTC)
    result = {
        "kind": "grow",
        "taken": now.isoformat(timespec="seconds"),
        "label": args.label,
        "commit": commit(),
        "machine": machine(),
        "by_mib": args.by,
        "noop_s": noop_s,
        "grows": grows,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"grow-{now.strftime('%Y%m%dT%H%M%SZ')}.json"
    path.write_text(json.dumps(result, indent=2) + "\n")
    print(f"written {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
