"""The lab benchmark: image build, boot, first converge, bytes resynced, then the no-op figures.

    python bench/converge.py [--runs N] [--image-runs M] [--noop-runs K] [--label TEXT]

Each of the N runs gives the three guests fresh disks, boots them from the cached image
(`python -m lab reset`), runs the deploy once (`pyinfra -y lab/inventory.py deploy.py`) and
reads from both storage nodes' kernel logs how much DRBD resynced while the new pair was
made: a new pair must start with no sync at all (`new-current-uuid --clear-bitmap`). Before
them, M image builds from scratch (the cached image is removed first; default 0). The JSON
in bench/results/ records every sample, their medians and the machine, and, taken on the
last converged lab, bench/noop.py's figures (baseline, no-op re-run, --dry, noop_ratio,
commands per host, and the no-op re-run targeting 1, 2 and 3 hosts). It leaves the lab
running and converged.

The guests boot from their role's image, which carries the packages the deploy would install
(lab/image.py); `TWINSTORE_LAB_PREINSTALL=0 python bench/converge.py ...` boots them from the
plain Debian image, so the converge includes the package step. The JSON says which.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import statistics
import subprocess
import sys

from noop import INVENTORY, RESULTS, measure_host_scaling, measure_noop, timed, write_result

from lab.image import image_dir, preinstalled
from lab.machines import ssh_command

STORAGE_NODES = ("fiori", "torchio")
# drbd_resync (kernel): "Began resync as SyncSource (will sync 3145728 KB [786432 bits set])."
WILL_SYNC = re.compile(r"Began resync as SyncSource \(will sync (\d+) KB")


def resynced_bytes(node: str) -> int:
    """Bytes this node started to send as a resync source since it booted, from its kernel log."""
    log = subprocess.run(ssh_command(node, "dmesg"), capture_output=True, text=True, check=True).stdout
    return sum(int(kib) * 1024 for kib in WILL_SYNC.findall(log))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--image-runs", type=int, default=0)
    parser.add_argument("--noop-runs", type=int, default=3)
    parser.add_argument("--label", default="")
    args = parser.parse_args()
    lab = [sys.executable, "-m", "lab"]

    timed([*lab, "down"])
    image: list[float] = []
    for _ in range(args.image_runs):
        shutil.rmtree(image_dir(), ignore_errors=True)
        # `lab reset` builds the missing image, then boots fresh disks; the build is the difference.
        with_build = timed([*lab, "reset"])
        timed([*lab, "down"])
        boot = timed([*lab, "reset"])
        timed([*lab, "down"])
        image.append(round(with_build - boot, 2))

    boot_s: list[float] = []
    converge_s: list[float] = []
    converge_counts: dict[str, dict[str, object]] = {"commands": {}, "slowest": {}}
    resync: list[int] = []
    for _ in range(args.runs):
        timed([*lab, "down"])
        boot_s.append(timed([*lab, "reset"]))
        counts = RESULTS / ".converge-commands.json"
        converge_s.append(
            timed([sys.executable, "bench/count_commands.py", str(counts), "--", "-y", INVENTORY, "deploy.py"])
        )
        converge_counts = json.loads(counts.read_text())
        counts.unlink()
        resync.append(sum(resynced_bytes(node) for node in STORAGE_NODES))

    figures: dict[str, object] = {
        # Whether the guests' images carried the deploy's packages (then the converge has no
        # package step for them) or were plain Debian.
        "packages_preinstalled": preinstalled(),
        "image_build_s": image,
        "boot_s": boot_s,
        "converge_s": converge_s,
        "image_build_median_s": statistics.median(image) if image else None,
        "boot_median_s": statistics.median(boot_s),
        "converge_median_s": statistics.median(converge_s),
        "resync_bytes_on_create": resync,
        # Where the last converge spent its time: remote commands and the ten slowest per host.
        "converge_commands_per_host": converge_counts["commands"],
        "converge_slowest": converge_counts["slowest"],
    }
    noop = {**measure_noop(args.noop_runs), **measure_host_scaling(max(2, args.noop_runs - 1))}
    write_result("lab", args.label, args.runs, {**figures, **noop})


if __name__ == "__main__":
    main()
