"""The Debian releases twinstore runs on, and the one upgrade between them it drives."""

from __future__ import annotations

from typing import Literal

# Debian major version: codename. The lab builds and the suite tests these.
SUPPORTED_RELEASES = {12: "bookworm", 13: "trixie"}
# What upgrade_to may name: a supported release a node can be upgraded to (from the one before it).
UpgradeTarget = Literal["trixie"]
UPGRADES = {"trixie": 12}


def major_of(codename: str) -> int:
    """A supported release's Debian major version, by its codename."""
    return next(major for major, name in SUPPORTED_RELEASES.items() if name == codename)
