"""Where the deploy's combined read spends its time on each guest, section by section.

    python bench/combined_read.py [--label TEXT] [--runs N]

Run it on a converged lab. It runs the deploy with --dry in this process, keeps the first
command sent to each host that is a combined read (twinstore/fact_cache.py: sections between
"#twinstore-fact N" markers), then runs that command again on the host under bash N times
(default 3), each section's end marker stamped with bash's $EPOCHREALTIME (no program started
for it), and records in bench/results/combined-read-*.json each section's median time and the
start of its command, slowest first, per host (their sum: total_s), and the median time of the
whole read run as pyinfra runs it, under sh (total_sh_s; bash's sections cost more). Under TCG
every program started costs milliseconds: the sections that start many are the ones to make
cheaper.
"""

from __future__ import annotations

import argparse
import json
import re
import shlex
import statistics
import subprocess
import sys
from datetime import UTC, datetime
from typing import Any

from noop import INVENTORY, RESULTS, ROOT, machine
from pyinfra.connectors.ssh import SSHConnector
from pyinfra_cli.main import main as pyinfra_main

from lab.machines import ssh_command
from twinstore.fact_cache import FACT_MARKER

ASSIGNMENT = re.compile(r"^[a-z_]+=\S*$")
END = re.compile(rf'echo "{FACT_MARKER} (\d+) \$\?";')


def combined_reads() -> dict[str, str]:
    """The first combined read the deploy sends to each host (a --dry run)."""
    found: dict[str, str] = {}
    run_shell_command = SSHConnector.run_shell_command

    def capture(self: SSHConnector, *args: Any, **kwargs: Any) -> Any:
        command: Any = args[0] if args else kwargs.get("command")
        text = command.get_raw_value() if hasattr(command, "get_raw_value") else str(command)
        if FACT_MARKER in text and self.host.name not in found:
            found[self.host.name] = text
        return run_shell_command(self, *args, **kwargs)

    SSHConnector.run_shell_command = capture  # type: ignore[method-assign]
    sys.argv = ["pyinfra", "--dry", INVENTORY, "deploy.py"]
    try:
        pyinfra_main()
    except SystemExit:
        pass
    finally:
        SSHConnector.run_shell_command = run_shell_command  # type: ignore[method-assign]
    return found


def section_starts(text: str) -> dict[int, str]:
    """Each section's command: its first 90 characters, or for a packaged script (sh -c, its
    values assigned first) its first command line."""
    starts = {}
    for match in re.finditer(
        rf"echo '{FACT_MARKER} (\d+)'; \( (.*?)\) 2>/dev/null; echo \"{FACT_MARKER} \1", text, re.S
    ):
        command = match.group(2)
        lines = [line.strip() for line in command.splitlines()[1:]]
        first = next((line for line in lines if line and not line.startswith("#") and not ASSIGNMENT.match(line)), None)
        starts[int(match.group(1))] = f"sh -c: {first[:88]}" if command.startswith("sh -c") and first else command[:90]
    return starts


def timed_sections(host: str, text: str) -> dict[int, float]:
    """Run the read once on the host under bash, each section's end stamped; seconds per section."""
    stamped = END.sub(lambda m: f'echo "{FACT_MARKER} {m.group(1)} $? $EPOCHREALTIME";', text)
    script = f'begin=$EPOCHREALTIME; echo "{FACT_MARKER} -1 0 $begin"; {stamped}'
    result = subprocess.run(
        [*ssh_command(host), f"bash -c {shlex.quote(script)}"], capture_output=True, text=True, check=False
    )
    times: list[tuple[int, float]] = []
    for line in result.stdout.splitlines():
        match = re.match(rf"^{FACT_MARKER} (-?\d+) \d+ (\d+)[.,](\d+)$", line)
        if match:
            times.append((int(match.group(1)), float(f"{match.group(2)}.{match.group(3)}")))
    return {
        index: round(stamp - times[position - 1][1], 3) for position, (index, stamp) in enumerate(times) if position
    }


def timed_whole(host: str, text: str) -> float:
    """Run the read once on the host as pyinfra does, under sh, unchanged; its seconds."""
    # bash only stamps the start and the end: its sections cost more than sh's (a bash subshell
    # starts slower under TCG), so the sections' sum is a breakdown, and this is the total.
    script = 'begin=$EPOCHREALTIME; sh -c "$1" >/dev/null 2>&1; echo "$begin $EPOCHREALTIME"'
    result = subprocess.run(
        [*ssh_command(host), f"bash -c {shlex.quote(script)} _ {shlex.quote(text)}"],
        capture_output=True,
        text=True,
        check=True,
    )
    begin, end = (float(stamp.replace(",", ".")) for stamp in result.stdout.split()[-2:])
    return round(end - begin, 3)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--label", default="")
    args = parser.parse_args()
    reads = combined_reads()
    hosts: dict[str, object] = {}
    for host, text in sorted(reads.items()):
        samples = [timed_sections(host, text) for _ in range(args.runs)]
        starts = section_starts(text)
        medians = {index: statistics.median(sample.get(index, 0.0) for sample in samples) for index in starts}
        hosts[host] = {
            "total_sh_s": statistics.median(timed_whole(host, text) for _ in range(args.runs)),
            "total_s": round(sum(medians.values()), 2),
            "sections": [
                {"seconds": seconds, "command": starts[index]}
                for index, seconds in sorted(medians.items(), key=lambda item: -item[1])
            ],
        }
    taken = datetime.now(UTC)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout
    result = {
        "kind": "combined-read",
        "taken": taken.isoformat(timespec="seconds"),
        "label": args.label,
        "commit": commit.strip(),
        "machine": machine(),
        "runs": args.runs,
        "hosts": hosts,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"combined-read-{taken.strftime('%Y%m%dT%H%M%SZ')}.json"
    path.write_text(json.dumps(result, indent=2) + "\n")
    for host, summary in hosts.items():
        print(host, json.dumps(summary)[:1500])
    print(f"written to {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
