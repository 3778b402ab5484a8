"""apt sources by IP address: validation of apt_sources and the sources.list twinstore writes."""

from __future__ import annotations

from operations.sources import TEMPLATES, fact_reads
from tests.helpers import real_storage_config, render_template, with_storage

MIRROR = {"uri": "http://192.168.1.2/debian", "suites": ["bookworm", "bookworm-updates"]}
SECURITY = {"uri": "http://192.168.1.2/debian-security", "suites": ["bookworm-security"], "components": ["main"]}


def test_one_deb_line_per_suite_of_each_source() -> None:
    config = real_storage_config(apt_sources=[MIRROR, SECURITY])
    text = render_template(TEMPLATES / "sources.list.j2", sources=config.apt_sources)
    assert [line for line in text.splitlines() if not line.startswith("#")] == [
        "deb http://192.168.1.2/debian bookworm main non-free-firmware",
        "deb http://192.168.1.2/debian bookworm-updates main non-free-firmware",
        "deb http://192.168.1.2/debian-security bookworm-security main",
    ]


def test_sources_by_ip_address_are_accepted() -> None:
    assert with_storage("apt_sources", [MIRROR, {"uri": "https://[2001:db8::2]/debian"}]) == []


def test_a_source_by_name_is_refused_with_its_field() -> None:
    problems = with_storage("apt_sources", [MIRROR, {"uri": "http://deb.debian.org/debian"}])
    assert [p.field for p in problems] == ["apt_sources.1.uri"]
    assert "deb.debian.org" in problems[0].value and "IP address" in problems[0].rule


def test_a_source_that_is_not_http_is_refused() -> None:
    problems = with_storage("apt_sources", [{"uri": "ftp://192.168.1.2/debian"}])
    assert [p.field for p in problems] == ["apt_sources.0.uri"]


def test_a_source_without_suites_is_refused() -> None:
    problems = with_storage("apt_sources", [{"uri": "http://192.168.1.2/debian", "suites": []}])
    assert "apt_sources.0.suites" in [p.field for p in problems]


def test_nothing_is_read_or_written_when_no_sources_are_set() -> None:
    assert fact_reads(real_storage_config()).files == []
    assert fact_reads(real_storage_config(apt_sources=[MIRROR])).files == ["/etc/apt/sources.list"]
