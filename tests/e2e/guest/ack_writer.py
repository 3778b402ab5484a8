#!/usr/bin/env python3
"""Write numbered files through NFS mounts, one thread per mount, and record every acknowledged write.

Runs on the lab's client guest: ``ack_writer.py RUN_DIR DIRECTORY...`` (each DIRECTORY on an NFS
mount), one thread per directory, as independent clients of each server: a write that hangs on a
server that is away (about 12 s until the soft mount gives up) does not hold back the writes through
the other. Numbers come from one counter, because all directories may be the same directory of
the shared file system seen through different servers. Each write is a new 16 KiB
file of random bytes, written and fsync'd (the export is ``sync``, the mount ``soft``: fsync
returns once the server has the data on stable storage, or fails when the server is away).
Only after fsync returned does the writer append ``<epoch> <directory> <name> <sha256>`` to
RUN_DIR/acked (itself fsync'd), so that file lists exactly the writes a client was told are
safe. Failed writes go to RUN_DIR/failed. The writer stops when RUN_DIR/stop exists.
"""

from __future__ import annotations

import hashlib
import itertools
import os
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

SIZE = 16 * 1024
PAUSE_S = 0.3


LOCK = threading.Lock()


def append(path: Path, line: str) -> None:
    with LOCK, path.open("a") as handle:
        handle.write(line + "\n")
        handle.flush()
        os.fsync(handle.fileno())


def write_one(directory: Path, name: str, data: bytes) -> None:
    descriptor = os.open(directory / name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        os.write(descriptor, data)
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def next_number(counter: Iterator[int]) -> int:
    with LOCK:
        return next(counter)


def write_until_stopped(run_dir: Path, directory: Path, counter: Iterator[int]) -> None:
    while not (run_dir / "stop").exists():
        name = f"w{next_number(counter):06d}"
        data = os.urandom(SIZE)
        try:
            write_one(directory, name, data)
        except OSError as error:
            append(run_dir / "failed", f"{time.time():.1f} {directory} {name} {error.strerror}")
        else:
            append(run_dir / "acked", f"{time.time():.1f} {directory} {name} {hashlib.sha256(data).hexdigest()}")
        time.sleep(PAUSE_S)


def main() -> int:
    run_dir = Path(sys.argv[1])
    directories = [Path(directory) for directory in sys.argv[2:]]
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "pid").write_text(f"{os.getpid()}\n")
    counter = itertools.count(1)
    threads = [
        threading.Thread(target=write_until_stopped, args=(run_dir, directory, counter)) for directory in directories
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    (run_dir / "done").touch()
    return 0


if __name__ == "__main__":
    sys.exit(main())
