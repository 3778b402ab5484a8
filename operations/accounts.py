"""Pinned accounts: the same uid and gid on both nodes, made before any package could make them.

OCFS2 shows both nodes the same inodes; an account numbered differently on each node owns
different files on each (the procedure's libvirt-qemu example). An account that already
exists with other ids stops the run: renumbering means changing the ownership of files, which
the administrator does by hand, knowing what those files are.
"""

from __future__ import annotations

from collections.abc import Generator

from pyinfra import host
from pyinfra.api import QuoteString, StringCommand, deploy, operation
from pyinfra.operations import server

from facts.accounts import LocalAccounts, LocalAccountsState
from twinstore.config import Account, StorageConfig
from twinstore.fact_cache import FactReads, prefetch_reads
from twinstore.validation import Problem, host_source, stop

NO_LOGIN_SHELL = "/usr/sbin/nologin"


def account_problems(accounts: list[Account], found: LocalAccountsState, host_name: str, source: str) -> list[Problem]:
    """Every configured account that exists here with other ids, or whose ids another account holds."""
    return [
        Problem(source, f"accounts.{index}.{attribute}", getattr(account, attribute), rule)
        for index, account in enumerate(accounts)
        for attribute, rule in id_conflicts(account, found, host_name)
    ]


def id_conflicts(account: Account, found: LocalAccountsState, host_name: str) -> list[tuple[str, str]]:
    """(attribute, rule) for each way this host disagrees with the pinned ids of one account."""
    name = account.name
    conflicts: list[tuple[str, str]] = []
    gid_now = found.groups.get(name)
    if gid_now is not None and gid_now != account.gid:
        conflicts.append(
            (
                "gid",
                f"group {name} has gid {gid_now} on {host_name}. twinstore does not renumber files: run "
                f"groupmod -g {account.gid} {name} and find / -xdev -gid {gid_now} -exec chgrp -h {account.gid} {{}} + "
                f"there, or configure gid {gid_now} on both nodes",
            )
        )
    holder = found.group_with_gid(account.gid)
    if holder is not None and holder != name:
        conflicts.append(("gid", f"gid {account.gid} belongs to group {holder} on {host_name}"))
    user_now = found.users.get(name)
    if user_now is not None and user_now[0] != account.uid:
        conflicts.append(
            (
                "uid",
                f"user {name} has uid {user_now[0]} on {host_name}. twinstore does not renumber files: run "
                f"usermod -u {account.uid} {name} and "
                f"find / -xdev -uid {user_now[0]} -exec chown -h {account.uid} {{}} + "
                f"there, or configure uid {user_now[0]} on both nodes",
            )
        )
    elif user_now is not None and user_now[1] != account.gid:
        conflicts.append(("gid", f"user {name} has primary gid {user_now[1]} on {host_name}, not {account.gid}"))
    owner = found.user_with_uid(account.uid)
    if owner is not None and owner != name:
        conflicts.append(("uid", f"uid {account.uid} belongs to user {owner} on {host_name}"))
    return conflicts


@operation()
def system_user(user: str, uid: int, group: str, home: str) -> Generator[StringCommand, None, None]:
    """
    A system account with pinned ids and no login, made only where LocalAccounts found none:
    the command pyinfra's server.user runs for it, without that operation's Users read, which
    runs several programs for every account on the host (half a minute on a lab guest).

    + user: the account's name
    + uid: its user id
    + group: its primary group, which exists already
    + home: its home directory, not created
    """
    yield StringCommand(
        "useradd", "--system", "--uid", str(uid), "--gid", QuoteString(group), "--home-dir", QuoteString(home),
        "--no-create-home", "--shell", NO_LOGIN_SHELL, QuoteString(user),
    )  # fmt: skip


def fact_reads() -> FactReads:
    return FactReads(facts=[(LocalAccounts, {})])


@deploy("Pinned accounts")
def configure_accounts(config: StorageConfig) -> None:
    prefetch_reads(host, fact_reads())
    found = host.get_fact(LocalAccounts)
    stop(account_problems(config.accounts, found, host.name, host_source(host, "accounts")))
    for account in config.accounts:
        # Called only for what is missing.
        if account.name not in found.groups:
            server.group(name=f"Group {account.name} ({account.gid})", group=account.name, gid=account.gid, system=True)
        if account.name not in found.users:
            system_user(
                name=f"User {account.name} ({account.uid})",
                user=account.name,
                uid=account.uid,
                group=account.name,
                home=account.home,
            )
