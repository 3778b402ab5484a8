"""Pinned accounts: the fact's parsing and every way a host can disagree with the pinned ids."""

from __future__ import annotations

from facts.accounts import LocalAccounts, LocalAccountsState
from facts.util import SECTION
from operations.accounts import account_problems, system_user
from twinstore.config import Account

LIBVIRT = Account(name="libvirt-qemu", uid=64055, gid=64055, home="/var/lib/libvirt")


def accounts(passwd: list[str], group: list[str]) -> LocalAccountsState:
    return LocalAccounts().process([f"{SECTION}passwd", *passwd, f"{SECTION}group", *group])


DEBIAN_PASSWD = [
    "root:x:0:0:root:/root:/bin/bash",
    "_apt:x:42:65534::/nonexistent:/usr/sbin/nologin",
    "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin",
]
DEBIAN_GROUP = ["root:x:0:", "nogroup:x:65534:", "kvm:x:104:"]


def problems(found: LocalAccountsState) -> list[str]:
    return [f"{p.field} = {p.value!r}: {p.rule}" for p in account_problems([LIBVIRT], found, "torchio", "group_data")]


def test_the_fact_reads_uids_primary_gids_and_group_ids() -> None:
    found = accounts([*DEBIAN_PASSWD, "libvirt-qemu:x:64055:64055::/var/lib/libvirt:/usr/sbin/nologin"], DEBIAN_GROUP)
    assert found.users["libvirt-qemu"] == (64055, 64055)
    assert found.users["_apt"] == (42, 65534)
    assert found.groups == {"root": 0, "nogroup": 65534, "kvm": 104}
    assert found.user_with_uid(42) == "_apt" and found.group_with_gid(104) == "kvm"


def test_a_fresh_debian_has_no_conflict() -> None:
    assert problems(accounts(DEBIAN_PASSWD, DEBIAN_GROUP)) == []


def test_the_pinned_account_already_in_place_has_no_conflict() -> None:
    found = accounts(
        [*DEBIAN_PASSWD, "libvirt-qemu:x:64055:64055::/var/lib/libvirt:/usr/sbin/nologin"],
        [*DEBIAN_GROUP, "libvirt-qemu:x:64055:"],
    )
    assert problems(found) == []


def test_an_account_made_by_a_package_with_other_ids_is_refused_with_the_fix() -> None:
    # What libvirt-daemon-system does on a node where it was installed first.
    found = accounts(
        [*DEBIAN_PASSWD, "libvirt-qemu:x:64056:104:Libvirt Qemu:/var/lib/libvirt:/usr/sbin/nologin"],
        [*DEBIAN_GROUP, "libvirt-qemu:x:64057:"],
    )
    found_problems = problems(found)
    assert len(found_problems) == 2, found_problems
    gid, uid = found_problems
    assert gid.startswith("accounts.0.gid = 64055: group libvirt-qemu has gid 64057 on torchio")
    assert "groupmod -g 64055 libvirt-qemu and find / -xdev -gid 64057 -exec chgrp -h 64055 {} +" in gid
    assert uid.startswith("accounts.0.uid = 64055: user libvirt-qemu has uid 64056 on torchio")
    assert "usermod -u 64055 libvirt-qemu and find / -xdev -uid 64056 -exec chown -h 64055 {} +" in uid


def test_ids_held_by_other_accounts_are_refused() -> None:
    found = accounts(
        [*DEBIAN_PASSWD, "vde2-net:x:64055:64055::/nonexistent:/usr/sbin/nologin"], [*DEBIAN_GROUP, "vde2-net:x:64055:"]
    )
    assert problems(found) == [
        "accounts.0.gid = 64055: gid 64055 belongs to group vde2-net on torchio",
        "accounts.0.uid = 64055: uid 64055 belongs to user vde2-net on torchio",
    ]


def test_a_user_with_the_right_uid_but_another_primary_group_is_refused() -> None:
    found = accounts(
        [*DEBIAN_PASSWD, "libvirt-qemu:x:64055:104::/var/lib/libvirt:/usr/sbin/nologin"],
        [*DEBIAN_GROUP, "libvirt-qemu:x:64055:"],
    )
    assert problems(found) == ["accounts.0.gid = 64055: user libvirt-qemu has primary gid 104 on torchio, not 64055"]


def test_a_missing_account_is_made_by_one_useradd_with_its_pinned_ids() -> None:
    commands = [
        c.get_raw_value()
        for c in system_user._inner(user=LIBVIRT.name, uid=LIBVIRT.uid, group=LIBVIRT.name, home=LIBVIRT.home)
    ]
    assert commands == [
        "useradd --system --uid 64055 --gid libvirt-qemu --home-dir /var/lib/libvirt --no-create-home"
        " --shell /usr/sbin/nologin libvirt-qemu"
    ]
