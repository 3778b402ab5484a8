"""No-op speed on a converged lab: baseline, no-op re-run, --dry, remote commands per host.

    python bench/noop.py [--runs N] [--label TEXT] [--by-hosts]
    TWINSTORE_LAB_PAIRS=2 python bench/noop.py --by-pairs [--runs N]

Run it on a lab where `pyinfra -y lab/inventory.py deploy.py` has converged. Each timing is
taken N times; the JSON in bench/results/ records every sample, their medians, the machine,
and noop_ratio = median no-op re-run / median baseline (`pyinfra ... exec -- true`).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
INVENTORY = "lab/inventory.py"


def machine() -> dict[str, object]:
    cpuinfo = Path("/proc/cpuinfo").read_text().splitlines()
    cpu = next((line.split(":", 1)[1].strip() for line in cpuinfo if "model name" in line), platform.processor())
    memory_kib = int(Path("/proc/meminfo").read_text().split()[1])
    return {
        "hostname": platform.node(),
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": round(memory_kib / 1024 / 1024, 1),
        # /dev/kvm can exist on a CPU without virtualisation extensions (this one): both are needed.
        "kvm_usable": os.access("/dev/kvm", os.R_OK | os.W_OK)
        and any(flag in line.split() for line in cpuinfo if line.startswith("flags") for flag in ("vmx", "svm")),
        "python": platform.python_version(),
    }


def timed(command: list[str]) -> float:
    started = time.monotonic()
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    elapsed = time.monotonic() - started
    if result.returncode != 0:
        sys.exit(f"{' '.join(command)} failed ({result.returncode}):\n{result.stdout[-3000:]}{result.stderr[-3000:]}")
    return round(elapsed, 2)


def timed_with_cpu(command: list[str]) -> tuple[float, float]:
    """Wall time, and the CPU time the controller (pyinfra and its ssh clients) spent."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    elapsed = timed(command)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return elapsed, round(cpu, 2)


def commit() -> str:
    return subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()


def measure_noop(runs: int) -> dict[str, object]:
    """Baseline, no-op re-run and --dry, each `runs` times, on a converged lab."""
    pyinfra = [sys.executable, "-m", "pyinfra"]
    baseline = [timed([*pyinfra, "-y", INVENTORY, "exec", "--", "true"]) for _ in range(runs)]
    noop, commands = [], {}
    counts = RESULTS / ".noop-commands.json"
    RESULTS.mkdir(parents=True, exist_ok=True)
    for _ in range(runs):
        count = [sys.executable, "bench/count_commands.py", str(counts), "--", "-y", INVENTORY, "deploy.py"]
        noop.append(timed(count))
        commands = json.loads(counts.read_text())["commands"]
    counts.unlink()
    dry = [timed([*pyinfra, "--dry", INVENTORY, "deploy.py"]) for _ in range(runs)]
    return {
        "baseline_s": baseline,
        "noop_s": noop,
        "dry_s": dry,
        "baseline_median_s": statistics.median(baseline),
        "noop_median_s": statistics.median(noop),
        "dry_median_s": statistics.median(dry),
        "noop_ratio": round(statistics.median(noop) / statistics.median(baseline), 2),
        "noop_commands_per_host": commands,
    }


def measure_host_scaling(runs: int) -> dict[str, object]:
    """
    The no-op re-run targeting 1, 2 and 3 hosts (--limit), `runs` times each: how the run grows
    with the number of hosts that pyinfra works on in parallel.
    """
    targets = {"1": ["--limit", "fiori"], "2": ["--limit", "storage"], "3": []}
    samples = {
        hosts: [timed([sys.executable, "-m", "pyinfra", "-y", *limit, INVENTORY, "deploy.py"]) for _ in range(runs)]
        for hosts, limit in targets.items()
    }
    return {
        "noop_by_hosts_s": samples,
        "noop_by_hosts_median_s": {hosts: statistics.median(times) for hosts, times in samples.items()},
    }


def measure_pair_scaling(runs: int) -> dict[str, object]:
    """
    On a lab of two pairs (TWINSTORE_LAB_PAIRS=2): the no-op re-run and the baseline for each
    pair alone and for both pairs (the storage group), `runs` times each, alternating.
    """
    # "1b", the second pair alone, tells a cost that grows with the inventory from one that grows
    # because four single-CPU guests share the lab machine's cores.
    targets = {
        "1": ["--limit", "fiori", "--limit", "torchio"],
        "1b": ["--limit", "pair_b"],
        "2": ["--limit", "storage"],
    }
    pyinfra = [sys.executable, "-m", "pyinfra", "-y"]
    noop: dict[str, list[float]] = {pairs: [] for pairs in targets}
    noop_cpu: dict[str, list[float]] = {pairs: [] for pairs in targets}
    baseline: dict[str, list[float]] = {pairs: [] for pairs in targets}
    for _ in range(runs):
        for pairs, limit in targets.items():
            baseline[pairs].append(timed([*pyinfra, *limit, INVENTORY, "exec", "--", "true"]))
            elapsed, cpu = timed_with_cpu([*pyinfra, *limit, INVENTORY, "deploy.py"])
            noop[pairs].append(elapsed)
            noop_cpu[pairs].append(cpu)
    medians = {pairs: statistics.median(times) for pairs, times in noop.items()}
    baseline_medians = {pairs: statistics.median(times) for pairs, times in baseline.items()}
    return {
        "noop_by_pairs_s": noop,
        "baseline_by_pairs_s": baseline,
        "noop_by_pairs_median_s": medians,
        "baseline_by_pairs_median_s": baseline_medians,
        "noop_ratio_by_pairs": {pairs: round(medians[pairs] / baseline_medians[pairs], 2) for pairs in targets},
        # The controller's own CPU (pyinfra in one process, its ssh clients): what grows with the
        # inventory on the machine running the deploy, whatever the storage nodes' speed.
        "noop_controller_cpu_by_pairs_s": noop_cpu,
        "noop_controller_cpu_by_pairs_median_s": {pairs: statistics.median(c) for pairs, c in noop_cpu.items()},
    }


def write_result(kind: str, label: str, runs: int, figures: dict[str, object]) -> None:
    """bench/results/<kind>-<UTC time>.json: the figures, the machine, the commit."""
    result = {
        "taken": datetime.now(UTC).isoformat(timespec="seconds"),
        "label": label,
        "commit": commit(),
        "machine": machine(),
        "runs": runs,
        **figures,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    output = RESULTS / f"{kind}-{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}.json"
    output.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    print(f"written to {output.relative_to(ROOT)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--label", default="")
    parser.add_argument("--by-hosts", action="store_true", help="also time the no-op targeting 1, 2 and 3 hosts")
    parser.add_argument(
        "--by-pairs", action="store_true", help="time the no-op for one pair and two (needs TWINSTORE_LAB_PAIRS=2)"
    )
    args = parser.parse_args()
    if args.by_pairs:
        if os.environ.get("TWINSTORE_LAB_PAIRS") != "2":
            sys.exit("--by-pairs needs the two-pair lab: TWINSTORE_LAB_PAIRS=2 python -m lab up, then the deploy")
        figures = measure_pair_scaling(args.runs)
        write_result("pairs", args.label, args.runs, figures)
        return
    figures = measure_noop(args.runs)
    if args.by_hosts:
        figures |= measure_host_scaling(args.runs)
    write_result("noop", args.label, args.runs, figures)


if __name__ == "__main__":
    main()
