"""The release check: the deploy runs on the Debian releases it is tested on and refuses any other by name."""

from __future__ import annotations

import pytest
from pyinfra.facts.server import LinuxDistribution

from operations.release import SUPPORTED_RELEASES, describe, release_problem


def os_release(**fields: str) -> list[str]:
    """pyinfra's LinuxDistribution output for a host whose /etc/os-release holds these fields."""
    return ["/etc/os-release", *(f'{key}="{value}"' for key, value in fields.items()), "---"]


BOOKWORM = os_release(
    PRETTY_NAME="Debian GNU/Linux 12 (bookworm)",
    NAME="Debian GNU/Linux",
    VERSION_ID="12",
    VERSION="12 (bookworm)",
    VERSION_CODENAME="bookworm",
    ID="debian",
)
BULLSEYE = os_release(NAME="Debian GNU/Linux", VERSION_ID="11", VERSION_CODENAME="bullseye", ID="debian")
TRIXIE = os_release(NAME="Debian GNU/Linux", VERSION_ID="13", VERSION_CODENAME="trixie", ID="debian")
# testing and unstable carry no VERSION_ID
SID = os_release(NAME="Debian GNU/Linux", VERSION_CODENAME="forky", ID="debian")
NOBLE = os_release(NAME="Ubuntu", VERSION_ID="24.04", VERSION_CODENAME="noble", ID="ubuntu", ID_LIKE="debian")


def problem(output: list[str]) -> str | None:
    found = release_problem("fiori", LinuxDistribution().process(output))
    return None if found is None else str(found)


@pytest.mark.parametrize("output", [BOOKWORM, TRIXIE])
def test_the_tested_releases_pass(output: list[str]) -> None:
    assert SUPPORTED_RELEASES == {12: "bookworm", 13: "trixie"}
    assert problem(output) is None


@pytest.mark.parametrize(
    ("output", "named"),
    [
        (BULLSEYE, "Debian 11 (bullseye)"),
        (SID, "Debian (forky)"),
        (NOBLE, "Ubuntu 24.04 (noble)"),
        ([], "an unknown system"),
    ],
)
def test_any_other_release_is_refused_by_name_with_what_is_supported(output: list[str], named: str) -> None:
    assert problem(output) == (
        f"fiori: operating system = {named}: twinstore runs on Debian 12 (bookworm) and Debian 13 (trixie) only; "
        "install a supported release on fiori (/etc/os-release)"
    )


def test_describe_names_a_release_as_a_person_does() -> None:
    assert describe(LinuxDistribution().process(BOOKWORM)) == "Debian 12 (bookworm)"
