"""apt sources by IP address on the lab: the client guest serves a signed Debian mirror by address.

The mirror holds the lab repository's packages in a Debian layout (dists/, pool/), its
Release files signed by a key made for the test and trusted on the storage nodes, as a
site's install server serves Debian's own signed files. The deploy is run with apt_sources
pointing at it; apt then updates and downloads by IP while no DNS server knows the mirror's names.
"""

from __future__ import annotations

import json
import shlex
import subprocess
import tempfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
import testinfra

from lab import image
from tests.e2e.conftest import LAB_INVENTORY, Run, mirror_indexes_command, run_pyinfra

MIRROR_ADDRESS = "192.168.1.10:8080"
MIRROR_URI = f"http://{MIRROR_ADDRESS}/debian"
# The suites a source without "suites" gets: the lab's release and its updates.
RELEASE = image.release()
SUITES = (RELEASE, f"{RELEASE}-updates")
KEY_FILE = "/etc/apt/trusted.gpg.d/twinstore-lab-mirror.asc"
SOURCES_LIST = "/etc/apt/sources.list"
LISTS = "/var/lib/apt/lists"
SERVER_PID = "/tmp/twinstore-mirror.pid"
# A vendor's repository, named in sources.list.d in both styles by a name no DNS answers for.
VENDOR_NAME = "mirror.lab.test"
VENDOR_LIST = "/etc/apt/sources.list.d/twinstore-lab-vendor.list"
VENDOR_SOURCES = "/etc/apt/sources.list.d/twinstore-lab-vendor.sources"
VENDOR_FILES = {
    VENDOR_LIST: f"deb http://{VENDOR_NAME}:8080/vendor {RELEASE} main\n",
    VENDOR_SOURCES: (
        f"Types: deb\nURIs: http://{VENDOR_NAME}:8080/vendor\nSuites: {RELEASE}-updates\nComponents: main\n"
    ),
}

# The lab repository's packages as a Debian mirror: the suite's package index points into pool/.
MAKE_MIRROR = (
    "rm -rf /srv/mirror && mkdir -p /srv/mirror/debian/dists && ln -s /srv/lab-repo /srv/mirror/debian/pool"
    " && ln -s debian /srv/mirror/vendor && "
    + mirror_indexes_command("/srv/mirror/debian", "/srv/lab-repo/Packages", RELEASE, SUITES)
)


def sign_releases(client: testinfra.host.Host) -> str:
    """Clear-sign each suite's Release into InRelease on the client; return the public key."""
    with tempfile.TemporaryDirectory(prefix="gpg", dir="/tmp") as home:
        gpg = ["gpg", "--homedir", home, "--batch", "--quiet", "--pinentry-mode", "loopback", "--passphrase", ""]
        subprocess.run([*gpg, "--quick-gen-key", "twinstore lab mirror", "ed25519", "sign", "never"], check=True)
        for suite in SUITES:
            release = client.check_output(f"cat /srv/mirror/debian/dists/{suite}/Release") + "\n"
            signed = subprocess.run([*gpg, "--clearsign"], input=release, capture_output=True, text=True, check=True)
            client.check_output(f"printf %s {shlex.quote(signed.stdout)} > /srv/mirror/debian/dists/{suite}/InRelease")
        key = subprocess.run([*gpg, "--armor", "--export"], capture_output=True, text=True, check=True).stdout
        subprocess.run(["gpgconf", "--homedir", home, "--kill", "gpg-agent"], check=False)
    return key


@pytest.fixture
def mirror(
    converge: Run, fiori: testinfra.host.Host, torchio: testinfra.host.Host, client: testinfra.host.Host
) -> Iterator[None]:
    client.check_output(MAKE_MIRROR)
    key = sign_releases(client)
    client.check_output(
        f"nohup python3 -m http.server 8080 --bind {MIRROR_ADDRESS.split(':')[0]} --directory /srv/mirror"
        f" > /tmp/twinstore-mirror.log 2>&1 & echo $! > {SERVER_PID}; sleep 2"
    )
    originals = {}
    for node in (fiori, torchio):
        originals[node] = node.file(SOURCES_LIST).content_string
        node.check_output(f"printf %s {shlex.quote(key)} > {KEY_FILE}")
        for path, content in VENDOR_FILES.items():
            node.check_output(f"printf %s {shlex.quote(content)} > {path}")
    try:
        yield
    finally:
        # The lab goes back to its own repository for the tests after this one; both nodes at
        # once (an apt-get update is tens of seconds of a TCG guest's CPU).
        def restore(node: testinfra.host.Host, original: str) -> None:
            node.run(
                f"printf %s {shlex.quote(original)} > {SOURCES_LIST}; rm -f {KEY_FILE} {LISTS}/*_debian_dists_* "
                f"{LISTS}/*_vendor_dists_* {' '.join(VENDOR_FILES)}; apt-get update -q"
            )

        with ThreadPoolExecutor(max_workers=len(originals)) as pool:
            for done in [pool.submit(restore, node, original) for node, original in originals.items()]:
                done.result()
        client.run(f"kill $(cat {SERVER_PID}); rm -rf /srv/mirror {SERVER_PID}")


def test_apt_reaches_the_install_server_by_address_without_dns(
    mirror: None, fiori: testinfra.host.Host, torchio: testinfra.host.Host
) -> None:
    # No suites: the deploy takes each node's release from its facts.
    sources = json.dumps([{"uri": MIRROR_URI, "components": ["main"]}])
    addresses = json.dumps({VENDOR_NAME: MIRROR_ADDRESS.split(":")[0]})
    by_address = ("--limit", "storage", "--data", f"apt_sources={sources}", "--data", f"apt_addresses={addresses}")
    # Without the vendor's address the deploy stops before any change, naming both files.
    before = {path: fiori.file(path).content_string for path in (SOURCES_LIST, *VENDOR_FILES)}
    refused = run_pyinfra("-y", "--limit", "storage", "--data", f"apt_sources={sources}", LAB_INVENTORY, "deploy.py")
    assert refused.returncode != 0
    for path in VENDOR_FILES:
        problem = f"apt_addresses.{VENDOR_NAME} = {path}: http://{VENDOR_NAME}:8080/vendor"
        assert problem in refused.output, refused.output[-3000:]
    assert "apt would need DNS to reach this server" in refused.output
    assert {path: fiori.file(path).content_string for path in before} == before

    # The preview names each file that changes, and changes none.
    preview = run_pyinfra("--dry", *by_address, LAB_INVENTORY, "deploy.py")
    assert preview.returncode == 0, preview.output[-4000:]
    planned = preview.planned_changes()
    for path in (SOURCES_LIST, VENDOR_LIST, VENDOR_SOURCES):
        assert [name for name in planned if path in name], (path, planned)
    for path, content in VENDOR_FILES.items():
        assert fiori.file(path).content_string == content

    first = run_pyinfra("-y", *by_address, LAB_INVENTORY, "deploy.py")
    assert first.returncode == 0, first.output[-4000:]
    for node in (fiori, torchio):
        lines = [line for line in node.file(SOURCES_LIST).content_string.splitlines() if not line.startswith("#")]
        assert lines == [f"deb {MIRROR_URI} {suite} main" for suite in SUITES]
        for path, content in VENDOR_FILES.items():
            assert node.file(path).content_string == content.replace(VENDOR_NAME, MIRROR_ADDRESS.split(":")[0])
        # The run refreshed the package lists from the mirror (signature checked against the key),
        # the vendor's suites through the files in sources.list.d by address too.
        lists = node.check_output(f"ls {LISTS}").split()
        for suite in SUITES:
            assert f"{MIRROR_ADDRESS}_debian_dists_{suite}_InRelease" in lists, lists
            assert f"{MIRROR_ADDRESS}_vendor_dists_{suite}_InRelease" in lists, lists
        # The servers' names resolve nowhere (the lab's DNS root knows only pasta.net), yet
        # apt knows the packages from the install server and fetches one by its address.
        assert node.run("getent hosts deb.debian.org").rc != 0
        assert f"{MIRROR_URI} {RELEASE}/main amd64 Packages" in node.check_output("apt-cache policy rsync")
        node.check_output(
            "cd /tmp && rm -f rsync_*.deb && apt-get download -q rsync && ls rsync_*.deb && rm rsync_*.deb"
        )

    again = run_pyinfra("-y", *by_address, LAB_INVENTORY, "deploy.py")
    assert again.returncode == 0, again.output[-4000:]
    assert again.grand_total()["changed"] == "-", again.output[-4000:]


def test_a_source_by_name_is_refused_before_anything_changes(fiori: testinfra.host.Host) -> None:
    before = fiori.file(SOURCES_LIST).content_string
    sources = json.dumps([{"uri": "http://deb.debian.org/debian"}])
    refused = run_pyinfra("-y", "--limit", "storage", "--data", f"apt_sources={sources}", LAB_INVENTORY, "deploy.py")
    assert refused.returncode != 0
    assert "apt_sources.0.uri" in refused.output and "IP address" in refused.output, refused.output[-3000:]
    assert fiori.file(SOURCES_LIST).content_string == before
