"""Fencing: the fence-peer handler's decisions, its fence device file, and validation's rules."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from pyinfra.context import ctx_host

from facts.drbd import SuspendedIo
from operations import fencing
from operations.fencing import handler_values, refuse_while_frozen
from tests.helpers import FakeHost, real_storage_config, real_views, render_template, with_storage, without_fencing
from twinstore.config import StorageConfig
from twinstore.fence_agents import fence_agent_package
from twinstore.packages import packages_for
from twinstore.validation import format_problems, validate

TEMPLATES = Path(__file__).parent.parent / "templates" / "fencing"
FIXTURES = Path(__file__).parent / "fixtures"
SERVING = (FIXTURES / "drbd-wfconnection-one-leg.txt").read_text().split("#twinstore-section splitbrain")[0]
STALE = SERVING.replace(
    " 1: cs:WFConnection ro:Primary/Unknown ds:UpToDate/DUnknown",
    " 1: cs:WFConnection ro:Secondary/Unknown ds:Consistent/DUnknown",
)
# The peer reconnected: what /proc/drbd shows once a reset peer rebooted and rejoined (resyncing).
RECONNECTED = SERVING.replace(
    " 1: cs:WFConnection ro:Primary/Unknown ds:UpToDate/DUnknown",
    " 1: cs:SyncSource ro:Primary/Secondary ds:UpToDate/Inconsistent",
)
PASSWORD = "unit-test-bmc-password"
# A stand-in for a ClusterLabs agent: reads name=value lines on stdin, as the real ones do, and
# answers from a power state file ("on", "off", or "broken": the BMC does not answer). When a
# file "reconnect-on-<action>" is there, the peer reconnects while the agent runs that action.
FAKE_AGENT = """#!/bin/sh
here=$(dirname "$0")/..
input=$(cat)
printf '%s\\n--\\n' "$input" >> "$here/agent-input"
echo "$*" >> "$here/agent-argv"
action=$(printf '%s\\n' "$input" | sed -n 's/^action=//p')
[ -e "$here/reconnect-on-$action" ] && cp "$here/reconnect-on-$action" "$here/drbd"
power=$(cat "$here/power")
if [ "$power" = broken ]; then
    echo "Parse error: Ignoring unknown option 'password=secret-looking'" >&2
    echo "Failed: Unable to connect/login to fencing device" >&2
    exit 1
fi
case $action in
status) echo "Status: $(echo "$power" | tr a-z A-Z)"; [ "$power" = on ] && exit 0 || exit 2 ;;
off)
    [ "$power" = off ] && { echo "Success: Already OFF"; exit 0; }
    echo off > "$here/power"
    echo "Success: Powered OFF"
    ;;
esac
"""


def run_handler(
    tmp_path: Path,
    proc_drbd: str,
    minors: str,
    config: StorageConfig | None = None,
    node: str = "fiori",
    power: str = "on",
    promote_alone: str = "",
    reconnect_during: str = "",
) -> tuple[int, str]:
    """The fence-peer handler as DRBD runs it (drbdadm's environment), against a given /proc/drbd
    and a fake fence agent; the peer reconnects during the agent's ``reconnect_during`` action, or
    during the handler's delay (``sleep``)."""
    config = config or real_storage_config()
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(parents=True)
    (tmp_path / "log").write_text("")
    (tmp_path / "power").write_text(f"{power}\n")
    (bin_dir / "logger").write_text(f'#!/bin/sh\necho "$*" >> {tmp_path}/log\n')
    # The handler's delay, recorded rather than waited; the peer may reconnect meanwhile.
    (bin_dir / "sleep").write_text(
        f'#!/bin/sh\necho "$*" >> {tmp_path}/slept\n'
        f"[ -e {tmp_path}/reconnect-on-sleep ] && cp {tmp_path}/reconnect-on-sleep {tmp_path}/drbd\nexit 0\n"
    )
    if reconnect_during:
        (tmp_path / f"reconnect-on-{reconnect_during}").write_text(RECONNECTED)
    peer = config.peer_of(node)
    if peer.fence is not None:
        (bin_dir / peer.fence.agent).write_text(FAKE_AGENT)
    for program in bin_dir.iterdir():
        program.chmod(0o755)
    (tmp_path / "drbd").write_text(proc_drbd)
    values = handler_values(config, node)
    values.update(
        promote_alone_flag=str(tmp_path / "promote-alone"),
        device_file=str(tmp_path / "device"),
        state_directory=str(tmp_path / "state"),
        state_file=str(tmp_path / "state" / "last"),
        lock_file=str(tmp_path / "lock"),
    )
    if promote_alone:
        (tmp_path / "promote-alone").write_text(f"{promote_alone}\n")
    if peer.fence is not None:
        device = render_template(
            TEMPLATES / "peer-device.j2",
            peer=peer.name,
            agent=peer.fence.agent,
            options=peer.fence.options,
            password=peer.fence.secret,
        )
        (tmp_path / "device").write_text(device)
    script = render_template(TEMPLATES / "fence-peer.sh.j2", **values).replace("/proc/drbd", str(tmp_path / "drbd"))
    environment = {"PATH": f"{bin_dir}:/usr/bin:/bin", "DRBD_RESOURCE": "drbd1", "DRBD_PEERS": peer.name}
    environment["DRBD_MINOR"] = minors
    ran = subprocess.run(["sh", "-c", script], env=environment, check=False, timeout=60)
    return ran.returncode, (tmp_path / "log").read_text()


def test_without_fencing_the_handler_lets_drbd_outdate_the_peer_only_from_an_up_to_date_copy(tmp_path: Path) -> None:
    config = without_fencing()
    assert not config.stonith
    # exit 5: "peer unreachable", taken by DRBD as "peer outdated" only when this copy is UpToDate.
    code, said = run_handler(tmp_path / "serving", SERVING, "1", config)
    assert code == 5
    assert "drbd1: lost torchio while UpToDate here ( drbd1 UpToDate/DUnknown ); torchio is taken as outdated" in said
    code, said = run_handler(tmp_path / "stale", STALE, "1", config)
    assert code == 5
    assert (
        "drbd1: not promoted alone: this node's copy is not known to be the newest ( drbd1 Consistent/DUnknown )"
        in said
    )
    # A minor the kernel does not show is not vouched for either.
    code, said = run_handler(tmp_path / "unknown", SERVING, "7", config)
    assert code == 5 and "not promoted alone" in said


def test_an_up_to_date_node_powers_its_peer_off_and_goes_on_only_once_the_agent_says_it_is_off(tmp_path: Path) -> None:
    code, said = run_handler(tmp_path, SERVING, "1")
    assert code == 7, said
    assert "drbd1: lost torchio while UpToDate here ( drbd1 UpToDate/DUnknown ); powering torchio off through" in said
    assert "fenced torchio: fence_ipmilan confirmed it is off (Success: Powered OFF); this node goes on" in said
    assert (tmp_path / "power").read_text() == "off\n"
    # Options and password on standard input, nothing on the command line; fiori (o2cb 1) at once.
    calls = [
        "".join(line + "\n" for line in call.splitlines() if not line.startswith("#"))
        for call in (tmp_path / "agent-input").read_text().split("--\n")
    ]
    assert [call for call in calls if "action=off" in call] == [
        f"ip=192.168.1.107\nusername=twinstore\nlanplus=1\npassword={PASSWORD}\naction=off\ndelay=0\n"
    ]
    assert set((tmp_path / "agent-argv").read_text().splitlines()) == {""}
    assert (tmp_path / "state" / "last").read_text().split()[1:] == ["fenced", "torchio", "drbd1"]


def test_the_node_with_the_higher_o2cb_number_waits_before_it_fences(tmp_path: Path) -> None:
    config = real_storage_config()
    assert config.fence_delay("fiori") == 0 and config.fence_delay("torchio") == config.fencing.delay_seconds == 20
    code, said = run_handler(tmp_path, SERVING, "1", config, node="torchio")
    assert code == 7, said
    assert "waiting 20 s before fencing it (fiori fences at once)" in said
    assert "powering fiori off through fence_ipmilan" in said
    # The handler waits itself, so it can look again afterwards; the agent acts at once.
    assert (tmp_path / "slept").read_text() == "20\n"
    assert "action=off\ndelay=0\n" in (tmp_path / "agent-input").read_text()
    # fiori fences at once: no wait.
    code, _ = run_handler(tmp_path / "fiori", SERVING, "1", config)
    assert code == 7 and not (tmp_path / "fiori" / "slept").exists()


@pytest.mark.parametrize(("node", "during"), [("fiori", "status"), ("torchio", "sleep")])
def test_a_peer_that_reconnects_before_the_power_off_is_not_powered_off(tmp_path: Path, node: str, during: str) -> None:
    # A reset peer reboots and rejoins while the agent answers slowly (fiori) or while this node
    # waits its delay (torchio): powering it off then would stop a node that serves again.
    code, said = run_handler(tmp_path, SERVING, "1", node=node, reconnect_during=during)
    peer = "torchio" if node == "fiori" else "fiori"
    # Not 3-7: nothing DRBD could take as "the peer cannot write"; DRBD ignores it anyway.
    assert code == 1, said
    assert f"drbd1: {peer} came back (SyncSource on drbd1) before it was powered off: not fenced" in said
    assert "action=off" not in (tmp_path / "agent-input").read_text()
    assert (tmp_path / "power").read_text() == "on\n"
    assert (tmp_path / "state" / "last").read_text().split()[1:] == ["reconnected", peer, "drbd1"]


def test_a_handler_that_gets_the_lock_after_its_resource_reconnected_does_not_call_the_agent(tmp_path: Path) -> None:
    # The second resource's handler waited for the first one's lock; its own connection is back.
    code, said = run_handler(tmp_path, RECONNECTED, "1")
    assert code == 1, said
    assert "torchio came back (SyncSource on drbd1)" in said
    assert not (tmp_path / "agent-input").exists()


def test_a_peer_already_off_is_not_powered_off_again(tmp_path: Path) -> None:
    code, said = run_handler(tmp_path, SERVING, "1", power="off")
    assert code == 7, said
    assert "torchio is already powered off: this node goes on" in said
    assert "action=off" not in (tmp_path / "agent-input").read_text()


def test_when_the_agent_fails_io_stays_frozen_and_the_password_is_never_logged(tmp_path: Path) -> None:
    code, said = run_handler(tmp_path, SERVING, "1", power="broken")
    # Anything but 3-7 leaves DRBD's I/O frozen: nothing is written without the peer known off.
    assert code == 1, said
    assert "could not fence torchio (Failed: Unable to connect/login to fencing device)" in said
    assert "I/O on drbd1 stays frozen" in said
    assert "password" not in said.lower() and PASSWORD not in said
    assert (tmp_path / "state" / "last").read_text().split()[1] == "failed"


def test_a_copy_that_may_be_older_never_fences_and_is_not_promoted_alone(tmp_path: Path) -> None:
    code, said = run_handler(tmp_path, STALE, "1")
    assert code == 5
    assert "not promoted alone" in said
    assert not (tmp_path / "agent-input").exists()
    # The administrator's promote_alone for this resource: the peer is taken as outdated (4),
    # and only for the resource named.
    code, said = run_handler(tmp_path / "alone", STALE, "1", promote_alone="drbd1")
    assert code == 4 and "drbd1: the administrator declared torchio gone for good (promote_alone)" in said
    code, _ = run_handler(tmp_path / "other", STALE, "1", promote_alone="drbd0")
    assert code == 5


def test_the_device_file_holds_the_options_and_the_password_and_drbd_conf_names_the_policy() -> None:
    config = real_storage_config()
    torchio = config.peer_of("fiori")
    assert torchio.fence is not None
    text = render_template(
        TEMPLATES / "peer-device.j2",
        peer="torchio",
        agent=torchio.fence.agent,
        options=torchio.fence.options,
        password=torchio.fence.secret,
    )
    lines = [line for line in text.splitlines() if line and not line.startswith("#")]
    assert lines == ["ip=192.168.1.107", "username=twinstore", "lanplus=1", f"password={PASSWORD}"]
    # The password is never in a repr, a log or an error.
    assert PASSWORD not in repr(config) and PASSWORD not in str(torchio.fence)
    common = render_template(
        Path(__file__).parent.parent / "templates" / "drbd" / "global_common.conf.j2",
        options=config.drbd_options,
        fence_peer="/usr/local/sbin/twinstore-fence-peer",
        stonith=True,
    )
    assert "fencing resource-and-stonith;" in common and "resource-only" not in common.split("#")[0]
    assert config.fence_agents == {"fence_ipmilan": ["ipmitool"]}


@pytest.mark.parametrize(
    ("agent", "release", "package"),
    [
        ("fence_ipmilan", 12, "fence-agents"),
        ("fence_redfish", 12, "fence-agents"),
        ("fence_ipmilan", 13, "fence-agents-ipmilan"),
        ("fence_redfish", 13, "fence-agents-redfish"),
        ("fence_ilo4", 13, "fence-agents-ipmilan"),
        ("fence_ilo4_ssh", 13, "fence-agents-ilo-ssh"),
        ("fence_apc_snmp", 13, "fence-agents-apc-snmp"),
    ],
)
def test_the_agents_package_is_the_one_its_release_ships_it_in(agent: str, release: int, package: str) -> None:
    assert fence_agent_package(agent, release) == package


@pytest.mark.parametrize("release", [12, 13])
def test_a_storage_node_installs_its_pairs_agents_and_their_tools_and_no_other_agent(release: int) -> None:
    packages = packages_for(["storage"], real_storage_config(), release)
    expected = ["fence-agents", "ipmitool"] if release == 12 else ["fence-agents-ipmilan", "ipmitool"]
    assert [name for name in packages if name.startswith("fence-agents") or name == "ipmitool"] == expected
    unfenced = packages_for(["storage"], without_fencing(), release)
    assert not [name for name in unfenced if name.startswith("fence-agents")]


def test_two_primaries_without_fencing_are_refused_unless_named_as_accepted() -> None:
    nodes = [node.model_dump(mode="json") | {"fence": None} for node in real_storage_config().nodes]
    text = format_problems(with_storage("nodes", nodes))
    assert "group_data/storage.py: nodes.0.fence = None: not set, and both nodes are Primary" in text
    assert "nodes.1.fence = None" in text
    assert "set dual_primary_without_fencing = True to accept that risk" in text
    # Accepted when the risk is named: the same nodes and the opt-out, on both nodes.
    views = real_views()
    for view in views:
        if view.name in ("fiori", "torchio"):
            view.data["nodes"] = nodes
            view.data["dual_primary_without_fencing"] = True
    assert validate(views) == []
    config = without_fencing()
    assert config.dual_primary_without_fencing and not config.stonith


def test_fencing_must_end_before_o2cb_would_fence_the_survivor() -> None:
    text = format_problems(with_storage("fencing", {"delay_seconds": 60, "agent_timeout_seconds": 60}))
    assert "fencing.agent_timeout_seconds = 60: I/O may stay frozen 156 s after the replication link fails" in text
    assert "o2cb's disk heartbeat timeout (120 s from ocfs2_cluster.heartbeat_threshold)" in text
    assert real_storage_config().frozen_seconds == 96


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"options": {"action": "reboot"}}, "'action' is set by twinstore's fence-peer handler"),
        ({"options": {"passwd": "x"}}, "'passwd' is set by twinstore's fence-peer handler"),
        ({"options": {"ip": "10.0.0.1\naction=reboot"}}, "holds a line break"),
        ({"options": {"ip": '"10.0.0.1"'}}, "without surrounding blanks or double quotes"),
        ({"options": {"IP": "10.0.0.1"}}, "is not a fence agent option name"),
        ({"agent": "fence_x; reboot"}, "is not a fence agent Debian 12 or 13 ships"),
        ({"agent": "fence_redfsh"}, "'fence_redfsh' is not a fence agent Debian 12 or 13 ships"),
        ({"password": "hunter2-hunter2"}, "a password is not written in group_data"),
        ({"password_file": "/nonexistent/bmc"}, "cannot be read here"),
    ],
)
def test_a_fence_device_value_that_could_change_meaning_is_refused(change: dict[str, object], message: str) -> None:
    nodes = [node.model_dump(mode="json") for node in real_storage_config().nodes]
    fence = nodes[0]["fence"]
    fence["password_file"] = str(fence["password_file"])
    nodes[0]["fence"] = {**fence, **change}
    text = format_problems(with_storage("nodes", nodes))
    assert message in text, text
    assert "hunter2" not in text


def test_a_deploy_stops_before_reading_anything_else_while_io_is_frozen(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    proc = [
        "version: 8.4.11 (api:1/proto:86-101)",
        " 0: cs:Connected ro:Primary/Primary ds:UpToDate/UpToDate C r-----",
        " 1: cs:WFConnection ro:Primary/Unknown ds:UpToDate/DUnknown C s-----",
    ]
    assert SuspendedIo().process(proc) == [1]
    assert SuspendedIo().process([]) == []
    monkeypatch.setattr(fencing, "host_source", lambda host, key: "group_data/storage.py")
    config = real_storage_config()
    with ctx_host.use(FakeHost({SuspendedIo: []})):
        refuse_while_frozen(config)
    with ctx_host.use(FakeHost({SuspendedIo: [1]})), pytest.raises(SystemExit) as stopped:
        refuse_while_frozen(config)
    assert stopped.value.code == 2
    said = capsys.readouterr().err
    assert "drbd1 on fiori: I/O is frozen: DRBD lost torchio and fencing has not confirmed it off" in said
    assert "then `drbdadm resume-io all` on fiori" in said
    assert "drbd0 on fiori" not in said
