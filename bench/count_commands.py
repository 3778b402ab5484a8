"""Run the pyinfra CLI in this process and count the remote commands it sends to each host.

    python bench/count_commands.py OUTPUT.json -- [pyinfra arguments]

Every fact read and every operation command goes through the SSH connector's
run_shell_command, once per round trip; files sent with put_file are counted apart.
Writes {"commands": {host: n}, "uploads": {host: n}, "returncode": rc} to OUTPUT.json, and
"slowest": the ten longest round trips per host with the start of their command.
"""

from __future__ import annotations

import json
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

from pyinfra.connectors.ssh import SSHConnector
from pyinfra_cli.main import main as pyinfra_main


def count_remote_calls(output: Path, pyinfra_args: list[str]) -> int:
    commands: Counter[str] = Counter()
    uploads: Counter[str] = Counter()
    run_shell_command = SSHConnector.run_shell_command
    put_file = SSHConnector.put_file

    timings: dict[str, list[tuple[float, str]]] = {}

    def counted_command(self: SSHConnector, *args: Any, **kwargs: Any) -> Any:
        commands[self.host.name] += 1
        started = time.monotonic()
        try:
            return run_shell_command(self, *args, **kwargs)
        finally:
            text = str(args[0] if args else kwargs.get("command", ""))
            timings.setdefault(self.host.name, []).append((round(time.monotonic() - started, 2), text[:100]))

    def counted_upload(self: SSHConnector, *args: Any, **kwargs: Any) -> Any:
        uploads[self.host.name] += 1
        return put_file(self, *args, **kwargs)

    SSHConnector.run_shell_command = counted_command  # type: ignore[method-assign]
    SSHConnector.put_file = counted_upload  # type: ignore[method-assign]
    sys.argv = ["pyinfra", *pyinfra_args]
    returncode = 0
    try:
        pyinfra_main()
    except SystemExit as exit_:
        returncode = exit_.code if isinstance(exit_.code, int) else 1
    output.write_text(
        json.dumps(
            {
                "commands": dict(commands),
                "uploads": dict(uploads),
                "returncode": returncode,
                "slowest": {name: sorted(times, reverse=True)[:10] for name, times in timings.items()},
            },
            indent=2,
        )
        + "\n"
    )
    return returncode


if __name__ == "__main__":
    if len(sys.argv) < 3 or sys.argv[2] != "--":
        sys.exit(__doc__)
    sys.exit(count_remote_calls(Path(sys.argv[1]), sys.argv[3:]))
