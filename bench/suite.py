"""The whole suite's wall time, from a pytest log, into bench/results/suite-*.json.

    CI=true bash .ci/run 2>&1 | tee /tmp/suite.log
    python bench/suite.py /tmp/suite.log --label "fresh clone of abc1234, image cached"

Records pytest's own wall time as suite_s, the slowest tests (pytest --durations), the machine,
and a CPU reference taken right after (a fixed pure-Python loop, single-threaded, like a TCG
guest's vCPU): these machines run at different speeds on different days, so two suite times
compare by suite_s / reference_s, not by seconds.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from noop import RESULTS, ROOT, machine

SUMMARY = re.compile(r"=+ (?P<counts>.*?) in (?P<seconds>[0-9.]+)s\b")
DURATION = re.compile(r"^(?P<seconds>[0-9.]+)s (?P<phase>setup|call|teardown)\s+(?P<test>\S+)")
REFERENCE_LOOP = "sum(i * i for i in range(20_000_000))"


def reference_seconds(runs: int = 3) -> float:
    """The fastest of a few runs of a fixed CPU-bound loop in a fresh interpreter."""
    timings = []
    for _ in range(runs):
        started = time.monotonic()
        subprocess.run([sys.executable, "-c", REFERENCE_LOOP], check=True)
        timings.append(time.monotonic() - started)
    return min(timings)


def parse(log: str) -> dict[str, object]:
    summary = None
    for match in SUMMARY.finditer(log):
        summary = match
    if summary is None:
        raise SystemExit("no pytest summary line (=== N passed in Xs ===) in the log")
    counts = {
        word: int(number)
        for number, word in re.findall(r"(\d+) (passed|failed|error|errors|skipped)", summary["counts"])
    }
    slowest = [
        {"test": match["test"], "phase": match["phase"], "seconds": float(match["seconds"])}
        for match in (DURATION.match(line) for line in log.splitlines())
        if match
    ]
    return {"suite_s": float(summary["seconds"]), "counts": counts, "slowest": slowest}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("log", type=Path, help="the output of bash scripts/test (or .ci/run)")
    parser.add_argument("--label", default="", help="what was run: commit, fresh clone or not, image cached or not")
    args = parser.parse_args()
    result = parse(args.log.read_text(errors="replace"))
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    reference = reference_seconds()
    result = {
        "kind": "suite",
        "taken": datetime.now(UTC).isoformat(timespec="seconds"),
        "label": args.label,
        "commit": commit.stdout.strip(),
        "machine": machine(),
        **result,
        "reference_s": round(reference, 3),
        "suite_per_reference": round(float(str(result["suite_s"])) / reference, 1),
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"suite-{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"{out}: suite_s {result['suite_s']:.0f}, reference_s {reference:.2f}, ratio {result['suite_per_reference']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
