"""The README's benchmark table and plot, from the JSON files in bench/results/.

    python bench/report.py        (needs matplotlib: pip install -e '.[bench]')

Prints a Markdown table of every lab-*.json result (medians, and the ranges of the samples)
and draws bench/results/timings.png: the median of each step per result, one bar each.
"""

from __future__ import annotations

import json
import statistics
from pathlib import Path
from typing import Any

from noop import RESULTS

# (JSON key of the samples, label); each is a list of seconds in a lab-*.json file.
STEPS = [
    ("image_build_s", "image build"),
    ("boot_s", "boot of 3 guests"),
    ("converge_s", "first converge"),
    ("noop_s", "no-op re-run"),
    ("dry_s", "--dry, converged"),
    ("baseline_s", "baseline exec -- true"),
]


def load_results() -> list[dict[str, Any]]:
    # The benchmark's results carry no "kind"; lab-vcpus, lab-boot and the like are one-off
    # measurements with fields of their own, kept beside them.
    results = [json.loads(path.read_text()) for path in sorted(RESULTS.glob("lab-*.json"))]
    return [result for result in results if "kind" not in result]


def seconds(samples: list[float]) -> str:
    if not samples:
        return "not measured"
    ordered = sorted(samples)
    median = statistics.median(ordered)
    spread = f" ({ordered[0]:.0f}-{ordered[-1]:.0f})" if len(ordered) > 1 else ""
    return f"{median:.1f} s{spread}"


def taken(result: dict[str, Any]) -> str:
    # Date and time: two results of one day and one commit (a before and an after) stay apart.
    return str(result["taken"][:16]).replace("T", " ")


def markdown_table(results: list[dict[str, Any]]) -> str:
    header = "| | " + " | ".join(f"{taken(result)} `{result['commit']}`" for result in results) + " |"
    rows = [header, "|---" * (len(results) + 1) + "|"]
    for key, label in STEPS:
        rows.append(f"| {label} | " + " | ".join(seconds(result.get(key, [])) for result in results) + " |")
    rows.append("| noop_ratio (no-op / baseline) | " + " | ".join(str(r["noop_ratio"]) for r in results) + " |")
    rows.append(
        "| remote commands per host, no-op | "
        + " | ".join(
            ", ".join(f"{host} {count}" for host, count in sorted(r["noop_commands_per_host"].items())) for r in results
        )
        + " |"
    )
    rows.append(
        "| no-op re-run by number of hosts targeted | "
        + " | ".join(
            ", ".join(f"{hosts}: {median:.1f} s" for hosts, median in r.get("noop_by_hosts_median_s", {}).items())
            or "not measured"
            for r in results
        )
        + " |"
    )
    rows.append(
        "| bytes resynced when a new pair is made | "
        + " | ".join(", ".join(str(b) for b in r["resync_bytes_on_create"]) for r in results)
        + " |"
    )
    machine = results[-1]["machine"]
    rows.append("")
    rows.append(
        f"Machine: {machine['cpu']}, {machine['cores']} cores, {machine['memory_gib']} GiB, "
        f"KVM {'used' if machine['kvm_usable'] else 'not usable (qemu TCG)'}; median (min-max) of the samples."
    )
    return "\n".join(rows)


def plot(results: list[dict[str, Any]], output: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(8, 3.5))
    width = 0.8 / len(results)
    for index, result in enumerate(results):
        # A step a result did not measure gets no bar (not a bar of 0 s).
        measured = [(step, statistics.median(result[key])) for step, (key, _) in enumerate(STEPS) if result.get(key)]
        positions = [step + index * width for step, _ in measured]
        medians = [median for _, median in measured]
        axes.barh(positions, medians, height=width, label=f"{taken(result)} {result['commit']}")
        for position, value in zip(positions, medians, strict=True):
            axes.text(value, position, f" {value:.0f} s", va="center", fontsize=8)
    axes.set_yticks([step + 0.4 - width / 2 for step in range(len(STEPS))], [label for _, label in STEPS])
    axes.invert_yaxis()
    axes.set_xlabel("seconds (median)")
    axes.set_title("twinstore on the qemu lab")
    axes.legend(fontsize=8, loc="lower right")
    figure.tight_layout()
    figure.savefig(output, dpi=100)


def main() -> None:
    results = load_results()
    if not results:
        raise SystemExit(f"no lab-*.json in {RESULTS}: run python bench/converge.py first")
    print(markdown_table(results))
    output = RESULTS / "timings.png"
    plot(results, output)
    print(f"\nplot written to {output}")


if __name__ == "__main__":
    main()
