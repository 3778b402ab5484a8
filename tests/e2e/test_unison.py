"""unison on the lab: the cron job's own command keeps rep-unison in step, and its key opens nothing else."""

from __future__ import annotations

import shlex

import testinfra

from operations.unison import ssh_options
from tests.e2e.conftest import Run

ROOT = "/vol/rep-unison"
KEY = "/root/.ssh/id_ed25519_unison"
KNOWN_HOSTS = "/root/.ssh/known_hosts_unison"


def cron_command(fiori: testinfra.host.Host) -> str:
    """The command of the cron job, exactly as cron would run it."""
    lines = [line for line in fiori.check_output("crontab -l").splitlines() if "unison" in line and line[:1] != "#"]
    assert len(lines) == 1, lines
    fields = lines[0].split(None, 5)
    assert fields[:5] == ["0", "0", "*", "*", "*"], lines[0]
    return fields[5]


def sync(fiori: testinfra.host.Host) -> str:
    result = fiori.run(cron_command(fiori))
    assert result.rc == 0, result.stdout + result.stderr
    return result.stdout + result.stderr


def test_deploy_set_up_the_sync_and_ran_it_once(converge: Run, fiori: testinfra.host.Host) -> None:
    assert cron_command(fiori) == "/usr/local/sbin/twinstore-unison-sync"
    profile = fiori.file("/root/.unison/vol-rep-unison.prf").content_string
    assert f"root = {ROOT}\n" in profile and f"root = ssh://192.168.1.7/{ROOT}\n" in profile
    assert "confirmbigdel = true" in profile and "prefer = newer" in profile and "batch = true" in profile
    assert "rotate 28" in fiori.file("/etc/logrotate.d/twinstore-unison").content_string
    # The first sync ran during the deploy: unison keeps archives once it has synced.
    assert fiori.check_output("ls /root/.unison | grep -c '^ar'") != "0"


def test_same_unison_on_both_nodes(converge: Run, fiori: testinfra.host.Host, torchio: testinfra.host.Host) -> None:
    assert fiori.check_output("unison -version") == torchio.check_output("unison -version")


def test_a_file_made_on_either_node_appears_on_the_other(
    converge: Run, fiori: testinfra.host.Host, torchio: testinfra.host.Host
) -> None:
    fiori.check_output(f"echo from-fiori > {ROOT}/pub/made-on-fiori")
    torchio.check_output(f"echo from-torchio > {ROOT}/pub/made-on-torchio")
    sync(fiori)
    for node in (fiori, torchio):
        assert node.check_output(f"cat {ROOT}/pub/made-on-fiori") == "from-fiori"
        assert node.check_output(f"cat {ROOT}/pub/made-on-torchio") == "from-torchio"


def test_a_file_changed_on_both_sides_ends_with_the_newer_version(
    converge: Run, fiori: testinfra.host.Host, torchio: testinfra.host.Host
) -> None:
    fiori.check_output(f"echo original > {ROOT}/pub/both")
    sync(fiori)
    fiori.check_output(f"echo older-on-fiori > {ROOT}/pub/both && touch -d '-1 hour' {ROOT}/pub/both")
    torchio.check_output(f"echo newer-on-torchio > {ROOT}/pub/both")
    sync(fiori)
    for node in (fiori, torchio):
        assert node.check_output(f"cat {ROOT}/pub/both") == "newer-on-torchio"


def test_deleting_most_of_the_tree_on_one_side_is_not_propagated_until_accepted(
    converge: Run, fiori: testinfra.host.Host, torchio: testinfra.host.Host
) -> None:
    fiori.check_output(f"mkdir -p {ROOT}/tree && for i in $(seq 200); do echo $i > {ROOT}/tree/f$i; done")
    sync(fiori)
    assert torchio.check_output(f"ls {ROOT}/tree | wc -l") == "200"
    torchio.check_output(f"rm -rf {ROOT}/tree")
    # The cron job's own command stops (cron mails its message) and the log says why.
    refused = fiori.run(cron_command(fiori))
    assert refused.rc == 1, refused.stdout + refused.stderr
    assert fiori.check_output(f"ls {ROOT}/tree | wc -l") == "200"
    log = fiori.file("/var/log/unison.log").content_string
    assert "not synced" in log and "on torchio has" in log and "more than 50% deleted (confirmbigdel)" in log, log[
        -2000:
    ]
    # Named by the administrator, the deletion goes through once; the next cron run is normal.
    accepted = fiori.run(f"{cron_command(fiori)} --accept-deletions")
    assert accepted.rc == 0, accepted.stdout + accepted.stderr
    assert fiori.run(f"test -e {ROOT}/tree").rc == 1
    sync(fiori)


def test_the_sync_key_opens_no_shell_on_the_peer(converge: Run, fiori: testinfra.host.Host) -> None:
    ssh = f"ssh -i {KEY} -o UserKnownHostsFile={KNOWN_HOSTS} -o StrictHostKeyChecking=yes -o BatchMode=yes"
    for command in ("", "id", "sh -c id", "unison -server; id"):
        # ssh's own exit status 255 means "connection failed" to testinfra: report it in the output.
        # cat -v: whatever the peer sends back may be binary.
        remote = shlex.quote(command) if command else ""
        result = fiori.run(f"{{ {ssh} root@192.168.1.7 {remote} </dev/null; echo rc=$?; }} 2>&1 | cat -v")
        assert "rc=0" not in result.stdout and "uid=" not in result.stdout, (command, result.stdout)
        assert "only runs the unison server" in result.stdout, (command, result.stdout)


def test_the_sync_key_is_refused_from_any_other_address(
    converge: Run, fiori: testinfra.host.Host, torchio: testinfra.host.Host
) -> None:
    # torchio uses a copy of the key on itself: its source address is not fiori's.
    private_key = fiori.check_output(f"cat {KEY}")
    torchio.check_output(f"umask 077 && printf '%s\\n' '{private_key}' > /root/stolen-key")
    try:
        # ssh's own exit status 255 means "connection failed" to testinfra: report it in the output.
        result = torchio.run(
            "{ ssh -i /root/stolen-key -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null"
            " -o BatchMode=yes root@192.168.1.7 id </dev/null; echo rc=$?; } 2>&1"
        )
    finally:
        torchio.run("rm -f /root/stolen-key")
    assert "rc=255" in result.stdout and "uid=" not in result.stdout, result.stdout
    assert "Permission denied" in result.stdout, result.stdout


def test_the_sync_key_writes_nothing_on_the_peer_but_its_volume(
    converge: Run, fiori: testinfra.host.Host, torchio: testinfra.host.Host
) -> None:
    # Through the sync key, as the nightly sync connects, but with roots the profile does not name.
    fiori.check_output("rm -rf /root/confinement; mkdir /root/confinement; echo planted > /root/confinement/planted")
    sshargs = shlex.quote(ssh_options())
    allowed = f"{ROOT}/confinement-check"

    def unison_to(target: str) -> testinfra.backend.base.CommandResult:
        return fiori.run(
            f"unison /root/confinement ssh://192.168.1.7/{target}"
            f" -batch -auto -ui text -ignorearchives -sshargs {sshargs}"
        )

    refused = ("/var/tmp/confinement", "/vol/ocfs2-small/confinement", "/root/confinement")
    # Every target exists on torchio: only the confinement can stop the writes.
    torchio.check_output(f"mkdir -p {allowed} {' '.join(refused)}")
    try:
        # The same command into the volume works: the refusals below are the confinement's.
        inside = unison_to(allowed)
        assert inside.rc == 0, inside.stdout + inside.stderr
        assert torchio.check_output(f"cat {allowed}/planted") == "planted"
        for target in refused:
            result = unison_to(target)
            assert result.rc != 0, (target, result.stdout, result.stderr)
            assert torchio.run(f"test -e {target}/planted").rc != 0, f"the sync key wrote {target} on torchio"
    finally:
        fiori.run(f"rm -rf /root/confinement {allowed}")
        torchio.run(f"rm -rf {allowed} {' '.join(refused)}")
    # The configured sync still runs through the same key.
    sync(fiori)
