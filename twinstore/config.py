"""The pydantic models of twinstore's configuration.

Every value the original procedure hard-codes is a field here; ``group_data/`` holds
the values. Models check one value or one object; rules that relate several objects
(unique ports, exports under exported volumes, ...) live in ``twinstore.validation``.
"""

from __future__ import annotations

import re
import stat
from ipaddress import IPv4Address, IPv4Network, ip_address, ip_network
from pathlib import Path, PurePosixPath
from typing import Annotated, Literal
from urllib.parse import urlparse

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    SecretStr,
    ValidationInfo,
    field_validator,
    model_validator,
)

from twinstore.fence_agents import FENCE_AGENTS
from twinstore.releases import UpgradeTarget

SIZE_UNITS = {"K": 1, "M": 2, "G": 3, "T": 4, "P": 5}
SIZE_PATTERN = re.compile(r"^([0-9]+(?:\.[0-9]+)?)([KMGTP])$")
# LVM's own rule for VG and LV names (lvm(8), "VALID NAMES").
LVM_NAME_PATTERN = re.compile(r"^[A-Za-z0-9+_.][A-Za-z0-9+_.-]*$")
HOSTNAME_PATTERN = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
# A fully qualified name as apt's sources write it: lower-case labels joined by dots.
DNS_LABEL = r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?"
DNS_NAME_PATTERN = re.compile(rf"^(?=.{{1,253}}$){DNS_LABEL}(\.{DNS_LABEL})*$")
CRON_FIELD_PATTERN = re.compile(r"^(\*|[0-9]+(-[0-9]+)?)(/[0-9]+)?(,(\*|[0-9]+(-[0-9]+)?)(/[0-9]+)?)*$")
CRON_FIELD_RANGES = ((0, 59), (0, 23), (1, 31), (1, 12), (0, 7))
# Every path the deploy writes into a file or a command: plain names, nothing a shell, a
# config file or a map would read as syntax (no space, quote, $, `, ;, *, newline...).
PATH_COMPONENT = r"[A-Za-z0-9_.+@-]+"
ABSOLUTE_PATH_PATTERN = re.compile(rf"^(/{PATH_COMPONENT})+$|^/$")
RELATIVE_PATH_PATTERN = re.compile(rf"^{PATH_COMPONENT}(/{PATH_COMPONENT})*$")
# One mount(8) / autofs option: a name, or name=value; autofs marks its map options with a
# leading - (-noquota). The list is joined with commas, so a value holds none.
MOUNT_OPTION_PATTERN = re.compile(r"^-?[A-Za-z0-9_]+(=[A-Za-z0-9_.:/@+-]+)?$")
# exports(5): the options nfs-utils 2.6 knows; name=value only where the option takes a value.
EXPORT_FLAGS = frozenset(
    {
        "rw", "ro", "sync", "async", "secure", "insecure", "wdelay", "no_wdelay", "hide", "nohide",
        "crossmnt", "subtree_check", "no_subtree_check", "insecure_locks", "no_auth_nlm", "auth_nlm",
        "secure_locks", "mountpoint", "mp", "nordirplus", "pnfs", "no_pnfs", "security_label",
        "root_squash", "no_root_squash", "all_squash", "no_all_squash",
    }
)  # fmt: skip
EXPORT_VALUE_PATTERNS = {
    "anonuid": re.compile(r"^[0-9]+$"),
    "anongid": re.compile(r"^[0-9]+$"),
    "fsid": re.compile(r"^([0-9]+|root|[0-9a-fA-F-]{32,36})$"),
    "sec": re.compile(r"^(sys|krb5|krb5i|krb5p)(:(sys|krb5|krb5i|krb5p))*$"),
    "mountpoint": ABSOLUTE_PATH_PATTERN,
    "mp": ABSOLUTE_PATH_PATTERN,
}
# DRBD's shared-secret is a double-quoted drbd.conf string with no escapes: printable ASCII
# without quotes, backslash or blanks. 20 characters of that alphabet are over 120 bits.
SECRET_PATTERN = re.compile(r"^[!#-&(-\[\]-~]+$")
SECRET_MIN_LENGTH = 20
# Fields whose values are never printed (validation errors show ********** instead).
SECRET_FIELDS = frozenset({"shared_secret", "password"})
# The placeholder earlier versions shipped; a secret everyone can read in the repository.
PLACEHOLDER_SECRET_PREFIX = "change-me"
REPOSITORY = Path(__file__).resolve().parents[1]
# A host an NFS client mounts from (autofs map): a host name or an IPv4 address.
SERVER_PATTERN = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$")


def is_under(path: str, parent: str) -> bool:
    """Whether a path is the parent or lies below it (both absolute, no . or ..)."""
    return PurePosixPath(path) == PurePosixPath(parent) or PurePosixPath(parent) in PurePosixPath(path).parents


def parse_size(value: str) -> int:
    """Bytes in an LVM-style size such as ``100G`` or ``2T`` (binary units, as lvcreate)."""
    match = SIZE_PATTERN.match(value.strip().upper())
    if not match:
        raise ValueError(f"{value!r} is not a size like 100G or 2T (a number and one of K M G T P)")
    number, unit = match.groups()
    size = int(float(number) * 1024 ** SIZE_UNITS[unit])
    if size <= 0:
        raise ValueError(f"{value!r} must be larger than zero")
    return size


def _size(value: str) -> str:
    parse_size(value)
    return value


def _absolute_path(value: str) -> str:
    if not value.startswith("/") or "//" in value or (value != "/" and value.endswith("/")):
        raise ValueError(f"{value!r} must be an absolute path without a trailing slash")
    if any(part in (".", "..") for part in value.split("/")):
        raise ValueError(f"{value!r} must not contain . or .. components")
    if not ABSOLUTE_PATH_PATTERN.match(value):
        raise ValueError(f"{value!r} must be a plain path: letters, digits and _ . + @ - between slashes")
    return value


def _relative_path(value: str) -> str:
    if not RELATIVE_PATH_PATTERN.match(value) or ".." in value.split("/"):
        raise ValueError(
            f"{value!r} must be a plain path below the link: letters, digits and _ . + @ - between slashes"
        )
    return value


def _mount_option(value: str) -> str:
    if not MOUNT_OPTION_PATTERN.match(value):
        raise ValueError(f"{value!r} is not one mount option (name or name=value; letters, digits, _ . : / @ + -)")
    return value


def _export_option(value: str) -> str:
    name, _, argument = value.partition("=")
    pattern = EXPORT_VALUE_PATTERNS.get(name)
    if (argument and (pattern is None or not pattern.match(argument))) or (not argument and name not in EXPORT_FLAGS):
        raise ValueError(f"{value!r} is not an exports(5) option nfs-utils accepts (one option per list item)")
    return value


def _server(value: str) -> str:
    if not SERVER_PATTERN.match(value):
        raise ValueError(f"{value!r} is not a host name or an IPv4 address")
    return value


def check_secret(secret: str) -> None:
    # The value is never part of a message: errors are printed.
    if len(secret) < SECRET_MIN_LENGTH or len(secret) > 64:
        raise ValueError(f"the secret must be {SECRET_MIN_LENGTH} to 64 characters long")
    if not SECRET_PATTERN.match(secret):
        raise ValueError(
            "the secret must be printable ASCII without quotes, backslash or blanks (drbd.conf writes it in "
            "double quotes)"
        )
    if secret.startswith(PLACEHOLDER_SECRET_PREFIX):
        raise ValueError("the secret is the shipped placeholder, which anyone can read: make a new one")


def read_private_file(path: str, encoding: str) -> str:
    """A file of the machine that runs pyinfra that holds a secret: outside the repository, root's
    alone (no group or other permission). Its text, without the final line break."""
    file = Path(path)
    if file.resolve().is_relative_to(REPOSITORY):
        raise ValueError(f"is inside the repository ({REPOSITORY}), which others read: keep secrets outside it")
    try:
        status = file.stat()
    except OSError as error:
        raise ValueError(f"cannot be read here: {error.strerror}") from None
    if not stat.S_ISREG(status.st_mode):
        raise ValueError("is not a regular file")
    if status.st_mode & 0o077:
        raise ValueError(f"is readable by others (mode {stat.S_IMODE(status.st_mode):04o}): chmod 600 it")
    return file.read_text(encoding=encoding, errors="replace").removesuffix("\n")


def read_secret_file(path: str) -> SecretStr:
    """The DRBD secret in a private file (read_private_file), one line."""
    secret = read_private_file(path, "ascii")
    if control_character_problem(secret):
        raise ValueError("holds more than one line: the secret is one line")
    check_secret(secret)
    return SecretStr(secret)


def _has_control_character(text: str) -> bool:
    return any(ord(char) < 32 or ord(char) == 127 for char in text)


def control_character_problem(value: object) -> str | None:
    """What in one field's value holds a line break or another control character (every file the
    deploy writes is line-based), or None. Nested dicts are models, which check their own fields."""
    items: list[tuple[str, object]] = []
    if isinstance(value, dict):
        for key, item in value.items():
            items.append((f"key {key!r}", key))
            if not isinstance(item, dict):
                items.append((f"the value of {key!r}", item))
    else:
        items.append(("the value", value))
    for what, item in items:
        texts = item if isinstance(item, (list, tuple)) else [item]
        if any(isinstance(text, str) and _has_control_character(text) for text in texts):
            return f"{what} holds a line break or another control character; every value is one line of text"
    return None


def _lvm_name(value: str) -> str:
    if not LVM_NAME_PATTERN.match(value) or value in (".", "..") or len(value) > 127:
        raise ValueError(f"{value!r} is not a valid LVM name (letters, digits, + _ . -; not starting with -)")
    return value


def _hostname(value: str) -> str:
    if not HOSTNAME_PATTERN.match(value):
        raise ValueError(f"{value!r} is not a host name (lower case letters, digits and -, no domain)")
    return value


def _dns_name(value: str) -> str:
    if not DNS_NAME_PATTERN.match(value):
        raise ValueError(f"{value!r} is not a DNS name (lower-case letters, digits, - and dots)")
    return value


def check_cron_schedule(value: str) -> str:
    fields = value.split()
    if len(fields) != 5:
        raise ValueError(f"{value!r} must have 5 cron fields (minute hour day month weekday)")
    for field, (low, high) in zip(fields, CRON_FIELD_RANGES, strict=True):
        if not CRON_FIELD_PATTERN.match(field):
            raise ValueError(f"{value!r}: cron field {field!r} is not a number, range, list or *")
        for number in re.findall(r"[0-9]+", field.split("/")[0]):
            if not low <= int(number) <= high:
                raise ValueError(f"{value!r}: {number} is outside {low}-{high}")
    return value


def _is_ip(text: str) -> bool:
    try:
        ip_address(text)
    except ValueError:
        return False
    return True


def _export_client(value: str) -> str:
    """An exports(5) client: *, an address, a network (a.b.c.d/n) or a host name."""
    if value == "*" or _is_ip(value):
        return value
    if "/" in value:
        try:
            ip_network(value, strict=False)
        except ValueError:
            pass
        else:
            return value
    elif all(label and label.replace("-", "").isalnum() for label in value.split(".")):
        return value
    raise ValueError("must be an address, a network (a.b.c.d/n), a host name or *")


def _apt_uri(value: str) -> str:
    parsed = urlparse(value)
    if parsed.scheme not in ("http", "https") or not _is_ip(parsed.hostname or ""):
        raise ValueError("must be an http(s) URL with an IP address, so apt needs no DNS")
    return value


def _sysctl_name(value: str) -> str:
    if not all(part.replace("_", "").replace("-", "").isalnum() for part in value.split(".")):
        raise ValueError(f"{value!r} is not a sysctl name like vm.min_free_kbytes")
    return value


def _drbd_handler(value: str) -> str:
    # drbd.conf quotes a handler with double quotes and has no escape for them.
    if not value.strip() or '"' in value or "\n" in value:
        raise ValueError(f"{value!r} must be a non-empty single-line command without double quotes")
    return value


Size = Annotated[str, AfterValidator(_size)]
AbsolutePath = Annotated[str, AfterValidator(_absolute_path)]
LvmName = Annotated[str, AfterValidator(_lvm_name)]
HostName = Annotated[str, AfterValidator(_hostname)]
DnsName = Annotated[str, AfterValidator(_dns_name)]
CronSchedule = Annotated[str, AfterValidator(check_cron_schedule)]
Port = Annotated[int, Field(ge=1, le=65535)]
DrbdHandler = Annotated[str, AfterValidator(_drbd_handler)]
RelativePath = Annotated[str, AfterValidator(_relative_path)]
MountOption = Annotated[str, AfterValidator(_mount_option)]
ExportOption = Annotated[str, AfterValidator(_export_option)]
Server = Annotated[str, AfterValidator(_server)]
ExportClient = Annotated[str, AfterValidator(_export_client)]
AptUri = Annotated[str, AfterValidator(_apt_uri)]
SysctlName = Annotated[str, AfterValidator(_sysctl_name)]
# Names that become file names, labels and config keys (DRBD resources, OCFS2 volumes).
Name = Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]+$")]

# The procedure's "/sbin/drbdsetup $DRBD_MINOR secondary" demoted every resync target. At boot
# the node is already Secondary, and a demotion racing the boot script's promotion fails, which
# makes DRBD drop the connection (StandAlone). Demote only a Primary, which still refuses to
# become a resync target while its device is in use.
DEMOTE_PRIMARY_RESYNC_TARGET = (
    "case $(/sbin/drbdadm role $DRBD_RESOURCE) in Primary/*) exec /sbin/drbdadm secondary $DRBD_RESOURCE;; esac"
)


class Model(BaseModel):
    """Strict base: an unknown key is an error, so a typo never silently falls back to a default."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    @field_validator("*", mode="before")
    @classmethod
    def _single_line(cls, value: object, info: ValidationInfo) -> object:
        annotation = cls.model_fields[info.field_name].annotation if info.field_name else None
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            return value  # a nested model checks its own fields, each by name
        problem = control_character_problem(value)
        if problem:
            raise ValueError(problem)
        return value


# --- storage pair -----------------------------------------------------------------------

# A fence agent's option name as its standard input takes it (fence-agents' fencing.py: the long
# option, with - or _). The handler sets the action and the delay itself, and the password
# comes from password_file: none of these is an option of a device.
FENCE_OPTION_PATTERN = re.compile(r"^[a-z][a-z0-9_-]{0,39}$")
FENCE_RESERVED_OPTIONS = frozenset(
    {"action", "option", "delay", "password", "passwd", "password_script", "passwd_script", "password-script"}
)
FENCE_PASSWORD_MAX_LENGTH = 128


def _fence_option(value: str) -> str:
    if not FENCE_OPTION_PATTERN.match(value):
        raise ValueError(f"{value!r} is not a fence agent option name (lower-case letters, digits, _ and -)")
    if value.replace("-", "_") in {name.replace("-", "_") for name in FENCE_RESERVED_OPTIONS}:
        raise ValueError(
            f"{value!r} is set by twinstore's fence-peer handler (action, delay) or read from password_file "
            "(the password): leave it out of options"
        )
    return value


def _known_fence_agent(value: str) -> str:
    if value not in FENCE_AGENTS:
        raise ValueError(
            f"{value!r} is not a fence agent Debian 12 or 13 ships (fence_ipmilan, fence_redfish, ...: "
            "twinstore/fence_agents.py lists them)"
        )
    return value


def _fence_option_value(value: str) -> str:
    # One name=value line on the agent's standard input: no line break (the model refuses control
    # characters) and no surrounding double quotes, which the agent would strip.
    if not value or value != value.strip() or (value.startswith('"') and value.endswith('"')):
        raise ValueError(f"{value!r} must be non-empty, without surrounding blanks or double quotes")
    return value


def read_password_file(path: str) -> SecretStr:
    """A fence device's password in a private file (read_private_file), one line of printable
    characters."""
    password = read_private_file(path, "utf-8")
    # The value is never part of a message: errors are printed.
    if not password or len(password) > FENCE_PASSWORD_MAX_LENGTH:
        raise ValueError(f"must hold a password of 1 to {FENCE_PASSWORD_MAX_LENGTH} characters")
    if _has_control_character(password) or "\ufffd" in password:
        raise ValueError("must hold one line of text: the password, without other line breaks or control characters")
    # Fence agents read it as a name=value line: they strip blanks and surrounding double quotes.
    if password != password.strip() or (len(password) > 1 and password[0] == password[-1] == '"'):
        raise ValueError(
            "must not start or end with a blank, nor be wrapped in double quotes (fence agents strip them)"
        )
    return SecretStr(password)


class FenceDevice(Model):
    """
    A node's out-of-band power control (its BMC, a PDU, ...), as a ClusterLabs fence agent drives
    it. The peer's fence-peer handler uses it to power this node off when the replication link
    fails while both serve; it must not depend on that link.
    """

    # The agent's program: fence_ipmilan, fence_redfish, ... (twinstore/packages.py installs it).
    agent: Annotated[str, AfterValidator(_known_fence_agent)]
    # Its options, as name=value lines on its standard input (never on a command line): ip,
    # ipport, username, lanplus, ssl_insecure, systems_uri, plug, ...
    options: dict[Annotated[str, AfterValidator(_fence_option)], Annotated[str, AfterValidator(_fence_option_value)]]
    # The device's password, read from this file on the machine that runs pyinfra (outside the
    # repository, mode 0600); None for a device that takes none.
    password_file: AbsolutePath | None = None
    # Refused: a password in group_data or on the command line is read by anyone who reads those.
    password: None = None
    _password: SecretStr | None = PrivateAttr(default=None)

    @field_validator("password", mode="before")
    @classmethod
    def _not_inline(cls, value: object) -> None:
        if value is not None:
            raise ValueError(
                "a password is not written in group_data or on the command line: put it in a file outside the "
                "repository (mode 0600) and set the device's password_file"
            )
        return None

    @field_validator("password_file")
    @classmethod
    def _readable_password(cls, value: str | None) -> str | None:
        if value is not None:
            read_password_file(value)
        return value

    @model_validator(mode="after")
    def _load_password(self) -> FenceDevice:
        self._password = read_password_file(self.password_file) if self.password_file else None
        return self

    @property
    def secret(self) -> SecretStr | None:
        return self._password

    @property
    def packages(self) -> list[str]:
        """What the agent needs besides its own package (fence_ipmilan drives ipmitool)."""
        return ["ipmitool"] if self.agent.startswith("fence_ipmi") else []


class Fencing(Model):
    """How the pair fences: in an even split the node with the lower o2cb number fences at once,
    the other only after delay_seconds (the fence-peer handler waits it, then looks whether the
    peer is back), so exactly one node survives."""

    delay_seconds: int = Field(default=20, ge=5, le=120)
    # How long one call of the agent may take before the handler gives up (I/O stays frozen).
    agent_timeout_seconds: int = Field(default=40, ge=5, le=120)


class Node(Model):
    """A storage node. ``name`` is the inventory host name and the DRBD/o2cb node name."""

    name: HostName
    lan_address: IPv4Address
    # Address on the back-to-back cable; used once replication_link.mode is "backlink".
    link_address: IPv4Address | None = None
    o2cb_number: int = Field(ge=0, le=254)
    # This node's power control, which its peer uses to fence it (see Fencing).
    fence: FenceDevice | None = None


class ReplicationLink(Model):
    """Which network DRBD and o2cb use: the LAN (as first built) or the back-to-back cable."""

    mode: Literal["lan", "backlink"] = "lan"
    # The back-to-back NIC (a Linux interface name), configured when mode is "backlink".
    interface: str = Field(default="eth1", pattern=r"^[A-Za-z0-9_.-]{1,15}$")
    prefix_length: int = Field(default=24, ge=8, le=31)


class VolumeGroup(Model):
    name: LvmName = "vg0"
    # Empty: the VG must already exist (the installer made it, as in the procedure).
    devices: list[AbsolutePath] = []


class LogicalVolume(Model):
    size: Size
    # ext4: plain local volume; drbd: backing disk of a DRBD resource; unison: ext4 kept
    # in step with the peer by unison.
    role: Literal["ext4", "drbd", "unison"]
    mount_point: AbsolutePath | None = None

    @model_validator(mode="after")
    def _mounted_by_role(self) -> LogicalVolume:
        if self.role == "drbd" and self.mount_point:
            raise ValueError(
                f"mount_point {self.mount_point}: a DRBD backing volume is not mounted directly; mount its OCFS2 volume"
            )
        if self.role in ("ext4", "unison") and not self.mount_point:
            raise ValueError(f"a volume with role '{self.role}' needs a mount_point")
        return self


class DrbdResource(Model):
    minor: int = Field(ge=0, le=1048575)
    port: Port
    backing_volume: LvmName

    @property
    def device(self) -> str:
        return f"/dev/drbd{self.minor}"


# After-split-brain policies that throw away one side's writes with no one deciding
# (drbd.conf(5)): accepted only with drbd_options.accept_automatic_data_loss.
DISCARDING_SPLIT_BRAIN_POLICIES = frozenset(
    {
        "discard-younger-primary",
        "discard-older-primary",
        "discard-least-changes",
        "discard-secondary",
        "violently-as0p",
        "call-pri-lost-after-sb",
    }
)


class DrbdOptions(Model):
    protocol: Literal["A", "B", "C"] = "C"
    allow_two_primaries: bool = True
    # The procedure's after-sb-1pri discard-secondary throws away the Secondary's writes after a
    # split brain; twinstore refuses such a policy unless this names the risk as accepted.
    accept_automatic_data_loss: bool = False
    # discard-zero-changes resolves a split brain only when one side wrote nothing since: no
    # write is lost. consensus applies that rule with one Primary too, and otherwise disconnects.
    after_sb_0pri: Literal[
        "disconnect",
        "discard-younger-primary",
        "discard-older-primary",
        "discard-zero-changes",
        "discard-least-changes",
    ] = "discard-zero-changes"
    after_sb_1pri: Literal[
        "disconnect", "consensus", "violently-as0p", "discard-secondary", "call-pri-lost-after-sb"
    ] = "consensus"
    after_sb_2pri: Literal["disconnect", "violently-as0p", "call-pri-lost-after-sb"] = "disconnect"
    before_resync_target_handler: DrbdHandler = DEMOTE_PRIMARY_RESYNC_TARGET
    split_brain_handler: DrbdHandler = "/usr/lib/drbd/notify-split-brain.sh root"
    # startup: how long a booting node waits for its peer before it tries to go on alone:
    # wfc_timeout when its copy may be older than the peer's (DRBD then refuses to promote it
    # alone and it keeps waiting), degr_wfc_timeout when it went down while serving alone,
    # outdated_wfc_timeout when it knows its peer's copy is outdated. 0 waits forever.
    wfc_timeout: int = Field(default=120, ge=0, le=300000)
    degr_wfc_timeout: int = Field(default=120, ge=0, le=300000)
    outdated_wfc_timeout: int = Field(default=60, ge=0, le=300000)
    # drbd.conf(5) 8.4: ping-int in seconds, ping-timeout in tenths of a second.
    ping_int: int = Field(default=30, ge=1, le=120)
    ping_timeout_tenths: int = Field(default=60, ge=1, le=300)
    # Activity log size in 4 MiB extents (DRBD's default, 1237, when None). After a Primary
    # crashes, what its activity log covered is resynced: a smaller log resyncs less after a
    # crash, at the cost of more metadata writes.
    al_extents: int | None = Field(default=None, ge=67, le=65534)
    # A fixed resync rate ("20M") instead of DRBD's dynamic controller: keeps a full sync
    # from filling a shared link. None: DRBD's default.
    resync_rate: Annotated[str, Field(pattern=r"^[0-9]+[KMG]$")] | None = None
    cram_hmac_alg: Literal["sha1", "sha256", "sha512"] = "sha256"
    # The checksum `drbdadm verify` compares blocks with (DRBD 8.4 refuses a verify without
    # one); a net option, so a changed value reaches a connected pair by `drbdadm adjust`.
    # None: no online verify.
    verify_alg: Literal["crc32c", "sha1", "sha256"] | None = "crc32c"
    # The pair's peer authentication secret, read from this file on the machine that runs
    # pyinfra (outside the repository, mode 0600) and held as a SecretStr (********** in
    # errors, reprs and logs). Both nodes of a pair must use the same.
    shared_secret_file: AbsolutePath
    # Refused: a secret written in group_data or on the command line is read by anyone who
    # reads those (declared only to say so, by name).
    shared_secret: None = None
    _shared_secret: SecretStr = PrivateAttr()

    @field_validator("shared_secret", mode="before")
    @classmethod
    def _not_inline(cls, value: object) -> None:
        if value is not None:
            raise ValueError(
                "a secret is not written in group_data or on the command line: put it in a file outside the "
                "repository (mode 0600) and set drbd_options.shared_secret_file"
            )
        return None

    @field_validator("shared_secret_file")
    @classmethod
    def _readable_secret(cls, value: str) -> str:
        read_secret_file(value)
        return value

    @model_validator(mode="after")
    def _load_secret(self) -> DrbdOptions:
        self._shared_secret = read_secret_file(self.shared_secret_file)
        return self

    @property
    def secret(self) -> SecretStr:
        return self._shared_secret

    @field_validator("after_sb_0pri", "after_sb_1pri", "after_sb_2pri")
    @classmethod
    def _no_silent_discard(cls, value: str, info: ValidationInfo) -> str:
        if value in DISCARDING_SPLIT_BRAIN_POLICIES and not info.data.get("accept_automatic_data_loss"):
            raise ValueError(
                "throws away one node's writes after a split brain with no one deciding; use discard-zero-changes, "
                "consensus or disconnect (nothing is lost; a person decides with --data split_brain_discard=NODE), "
                "or set drbd_options.accept_automatic_data_loss = True to accept that loss"
            )
        return value

    @field_validator("degr_wfc_timeout", "outdated_wfc_timeout")
    @classmethod
    def _shorter_wait(cls, value: int, info: ValidationInfo) -> int:
        # drbdsetup silently raises a degr-wfc-timeout longer than wfc-timeout (and an
        # outdated-wfc-timeout longer than degr-wfc-timeout) to the longer one.
        longer = "wfc_timeout" if info.field_name == "degr_wfc_timeout" else "degr_wfc_timeout"
        limit = info.data.get(longer)
        if limit and not 0 < value <= limit:
            raise ValueError(f"must be between 1 and {longer} ({limit}): DRBD would wait {longer} instead")
        return value


class Ocfs2Cluster(Model):
    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9_]{1,16}$")] = "ocfs2"
    port: Port = 7777
    heartbeat_threshold: int = Field(default=61, ge=2)
    idle_timeout_ms: int = Field(default=60000, ge=5000)
    keepalive_delay_ms: int = Field(default=4000, ge=1000)
    reconnect_delay_ms: int = Field(default=4000, ge=2000)

    @property
    def timeouts(self) -> dict[str, int]:
        """The four values o2cb reads from /etc/default/o2cb when it starts, by their names here."""
        return {name: getattr(self, name) for name in O2CB_TIMEOUTS}

    @property
    def disk_heartbeat_seconds(self) -> int:
        """How long a disk heartbeat write may hang before o2cb fences its own node (o2hb's
        dead threshold, one iteration every 2 s)."""
        return (self.heartbeat_threshold - 1) * 2


# o2cb's timeouts: each one's file in the cluster's configfs directory, as Ocfs2Cluster names it.
O2CB_TIMEOUTS = {
    "heartbeat_threshold": "heartbeat/dead_threshold",
    "idle_timeout_ms": "idle_timeout_ms",
    "keepalive_delay_ms": "keepalive_delay_ms",
    "reconnect_delay_ms": "reconnect_delay_ms",
}


class Ocfs2Volume(Model):
    drbd_resource: Name
    mount_point: AbsolutePath
    # mkfs.ocfs2 -T: tunes block and cluster sizes for the kind of file.
    fs_type: Literal["mail", "datafiles", "vmstore"]
    slots: int = Field(default=2, ge=2, le=255)
    label: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]{1,63}$")]


class PublicLink(Model):
    path: AbsolutePath
    target: AbsolutePath


class NfsExport(Model):
    path: AbsolutePath
    # Empty: the configured client network (all.py client_network) rather than "*".
    clients: list[ExportClient] = []
    # root_squash: NFS over AUTH_SYS believes whatever uid a client sends, so root on any
    # machine of the client network would own every file (the procedure's no_root_squash).
    options: list[ExportOption] = ["rw", "root_squash", "sync", "subtree_check"]
    # Hosts whose root stays root on this export (no_root_squash), each named: an address or
    # a host name, never a network or a wildcard.
    no_root_squash_hosts: list[Server] = []

    @field_validator("options")
    @classmethod
    def _root_squash_per_host(cls, value: list[str]) -> list[str]:
        if "no_root_squash" in value:
            raise ValueError(
                "no_root_squash for every client of the export gives root on any of them every file; "
                "name the hosts whose root is trusted in no_root_squash_hosts"
            )
        return value

    def entries(self, default_clients: list[str]) -> list[tuple[str, list[str]]]:
        """The export's clients, each with its options: trusted hosts first (exports(5) matches a
        single host before a network whatever the order, so this is for the reader)."""
        squashed = [option for option in self.options if option != "root_squash"]
        trusted = [(name, [*squashed, "no_root_squash"]) for name in self.no_root_squash_hosts]
        return trusted + [(client, list(self.options)) for client in self.clients or default_clients]


# unison's own archive directory for root: its profiles, archives and the sync command's records.
UNISON_ARCHIVE_DIR = "/root/.unison"


class UnisonProfile(Model):
    volume: LvmName
    client: HostName
    schedule: CronSchedule = "0 0 * * *"
    profile_name: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]+$")] = "vol-rep-unison"
    owner: bool = True
    group: bool = True
    perms: int = -1
    times: bool = True
    auto: bool = True
    batch: bool = True
    terse: bool = True
    confirmbigdel: bool = True
    fastcheck: bool = True
    prefer: Literal["newer", "older"] = "newer"
    log_file: AbsolutePath = "/var/log/unison.log"
    log_retention_days: int = Field(default=28, ge=1)
    # The sync stops when more than this share of the entries counted after the last sync
    # is gone on either side (confirmbigdel alone stops only the loss of a whole replica).
    max_deleted_percent: int = Field(default=50, ge=1, le=100)
    # The health report calls the sync stale when its last run is older than this
    # (a nightly schedule plus two hours of slack).
    max_age_hours: int = Field(default=26, ge=1)

    @property
    def profile_file(self) -> str:
        """unison's profile, which the sync command names."""
        return f"{UNISON_ARCHIVE_DIR}/{self.profile_name}.prf"

    @property
    def last_run_file(self) -> str:
        """Where the sync command records its last run: seconds since the epoch and exit status."""
        return f"{UNISON_ARCHIVE_DIR}/twinstore-{self.profile_name}.last-run"

    @property
    def count_file(self) -> str:
        """Where the sync command keeps the entries it counted after its last sync."""
        return f"{UNISON_ARCHIVE_DIR}/twinstore-{self.profile_name}.count"


class Resolver(Model):
    """Each storage node's own caching resolver (unbound, on 127.0.0.1 only).

    By default it resolves from the Internet's root servers (unbound's built-in hints) and
    validates with the root's key (dns-root-data), so no machine of the site is in its way.
    """

    # Forwarders, only as an explicit choice: each is a machine the pair's names then depend on.
    upstreams: list[IPv4Address] = []
    # The root servers of a network with its own root (no Internet); empty = the Internet's.
    root_servers: list[IPv4Address] = []
    # DNSSEC validation with the root's key; a private root is not signed with it.
    dnssec: bool = True

    @model_validator(mode="after")
    def _one_way_to_the_root(self) -> Resolver:
        if self.upstreams and self.root_servers:
            raise ValueError(
                "resolver.upstreams and resolver.root_servers are both set: with forwarders unbound never asks "
                "a root server; set one of them"
            )
        if self.root_servers and self.dnssec:
            raise ValueError(
                "resolver.root_servers names a private root, which is not signed with the root's key that "
                "resolver.dnssec validates with (dns-root-data): every answer would fail validation; set "
                "resolver.dnssec = False"
            )
        return self


# systemd's OnCalendar (systemd.time(7)): "weekly", "Sun *-*-* 03:00:00", "Mon..Fri 22:30". Only
# the characters its grammar uses, so the value cannot end the line it lands on in the timer.
CalendarSchedule = Annotated[str, Field(pattern=r"^[A-Za-z0-9*:,./~+ -]{1,64}$")]


class Verify(Model):
    """DRBD's online verify of every resource on a schedule: both copies compared block by block."""

    # When the pair's first node verifies its resources, one after the other (a systemd timer).
    # None schedules no verify, and the health report then asks for none.
    schedule: CalendarSchedule | None = "Sun *-*-* 03:00:00"
    # The health report counts the pair as not healthy when a resource has not been verified
    # for this long: the schedule's period and a margin.
    max_age_days: int = Field(default=8, ge=1, le=400)


class Metrics(Model):
    """The pair's state for a monitoring system: node-exporter's textfile collector reads it."""

    # Where node-exporter's textfile collector looks (--collector.textfile.directory); Debian's
    # prometheus-node-exporter reads this one unless told otherwise.
    textfile_directory: AbsolutePath = "/var/lib/prometheus/node-exporter"
    # How often each storage node writes its state (a systemd timer).
    interval_seconds: int = Field(default=30, ge=10, le=3600)


class Account(Model):
    name: HostName
    uid: int = Field(ge=1, le=65533)
    gid: int = Field(ge=1, le=65533)
    # A system account: no login shell, and its home is not created.
    home: AbsolutePath = "/nonexistent"


class AptSource(Model):
    """One line per suite in /etc/apt/sources.list: the install server by IP address."""

    uri: AptUri
    # None: the host's own release and its updates (trixie, trixie-updates on Debian 13), so a
    # pair's sources follow the release each node runs.
    suites: list[Annotated[str, Field(pattern=r"^[a-z0-9./-]+$")]] | None = Field(default=None, min_length=1)
    components: list[Annotated[str, Field(pattern=r"^[a-z0-9-]+$")]] = Field(
        default=["main", "non-free-firmware"], min_length=1
    )

    def suites_on(self, codename: str) -> list[str]:
        """The suites of this source on a host of the release named codename."""
        return self.suites if self.suites is not None else [codename, f"{codename}-updates"]


class StorageConfig(Model):
    """Everything one storage pair needs (group_data/storage.py and the pair's own group)."""

    nodes: list[Node]
    replication_link: ReplicationLink = ReplicationLink()
    volume_group: VolumeGroup = VolumeGroup()
    logical_volumes: dict[LvmName, LogicalVolume]
    ext4_mount_options: list[MountOption] = ["noatime", "nodiratime"]
    drbd_resources: dict[Name, DrbdResource]
    drbd_options: DrbdOptions
    ocfs2_cluster: Ocfs2Cluster = Ocfs2Cluster()
    ocfs2_volumes: dict[Name, Ocfs2Volume]
    ocfs2_mount_options: list[MountOption] = ["_netdev", "noatime", "data=writeback", "commit=60", "nodiratime"]
    public_links: list[PublicLink]
    nfs_exports: list[NfsExport]
    unison: UnisonProfile
    accounts: list[Account] = []
    resolver: Resolver = Resolver()
    extra_hosts: dict[HostName, IPv4Address] = {}
    mail_relay: IPv4Address | None = None
    # /etc/apt/sources.list by IP address so apt needs no DNS; empty = the machine's own sources.
    apt_sources: list[AptSource] = []
    # The repository servers named in /etc/apt/sources.list.d (and sources.list when apt_sources
    # is empty), by address: each name there is replaced by its address, so apt needs no DNS.
    apt_addresses: dict[DnsName, IPv4Address] = {}
    sysctls: dict[SysctlName, int | str] = {}
    metrics: Metrics = Metrics()
    verify: Verify = Verify()
    fencing: Fencing = Fencing()
    # Two Primaries with no way to power the other off: a failed replication link leaves both
    # writing, and their copies diverge. Refused unless this names that risk as accepted.
    dual_primary_without_fencing: bool = False
    # Day-2 switches, each only for one run on the command line (--data KEY=NODE), never in a
    # file: first_leg starts a new pair on NODE alone; split_brain_discard throws away NODE's
    # changes to every StandAlone resource; promote_alone makes NODE's copy the pair's data when
    # its peer is gone for good. Nothing is ever discarded or forced without one of them.
    first_leg: HostName | None = None
    split_brain_discard: HostName | None = None
    promote_alone: HostName | None = None
    # Day-2, one run on the command line too: upgrade the one node --limit names to this release
    # (operations/upgrade.py), out of service while its peer serves.
    upgrade_to: UpgradeTarget | None = None

    @field_validator("nodes")
    @classmethod
    def _a_pair(cls, value: list[Node]) -> list[Node]:
        if len(value) != 2:
            raise ValueError(f"a storage pair has exactly two nodes, not {len(value)}")
        return value

    @model_validator(mode="after")
    def _verify_has_an_algorithm(self) -> StorageConfig:
        if self.verify.schedule is not None and self.drbd_options.verify_alg is None:
            raise ValueError(
                f"verify.schedule {self.verify.schedule!r} needs drbd_options.verify_alg (DRBD 8.4 refuses an online "
                "verify without one): set one, or verify.schedule = None"
            )
        return self

    @property
    def verifier(self) -> str:
        """The node whose timer runs the scheduled verify: the pair's first (one per pair is
        enough, DRBD compares both copies from either side)."""
        return self.nodes[0].name

    @property
    def stonith(self) -> bool:
        """Whether DRBD fences by powering the peer off (every node has a fence device)."""
        return len(self.nodes) == 2 and all(node.fence is not None for node in self.nodes)

    @property
    def frozen_seconds(self) -> float:
        """How long a node's I/O may hang after the replication link fails, at most: DRBD's ping
        finds the peer gone, the node waits its fence delay, then the agent's time."""
        options = self.drbd_options
        waited = options.ping_int + options.ping_timeout_tenths / 10
        return waited + self.fencing.delay_seconds + self.fencing.agent_timeout_seconds

    def fence_delay(self, name: str) -> int:
        """How long the node waits before it fences its peer: the lower o2cb number (the side
        o2cb's own quorum keeps in an even split) at once, the other after fencing.delay_seconds."""
        node, peer = self.node(name), self.peer_of(name)
        return 0 if node.o2cb_number < peer.o2cb_number else self.fencing.delay_seconds

    @property
    def fence_agents(self) -> dict[str, list[str]]:
        """The pair's fence agents, each with the tools it needs besides its own package."""
        return {node.fence.agent: node.fence.packages for node in self.nodes if node.fence}

    @property
    def resource_minors(self) -> list[str]:
        """name:minor of each DRBD resource, as the node-side scripts take them (metrics, verify)."""
        return [f"{name}:{resource.minor}" for name, resource in self.drbd_resources.items()]

    @property
    def node_names(self) -> list[str]:
        """The pair's node names, in their configured order."""
        return [node.name for node in self.nodes]

    def sync_record_on(self, node: str) -> str:
        """The last-run file on the node that runs the unison sync; "" on the other, which records none."""
        return self.unison.last_run_file if node == self.unison.client else ""

    @property
    def drbd_fact_resources(self) -> list[tuple[str, int, str]]:
        """(name, minor, backing device) of every DRBD resource, the DrbdResources fact's argument."""
        return [
            (name, resource.minor, self.mapper_path(resource.backing_volume))
            for name, resource in self.drbd_resources.items()
        ]

    def node(self, name: str) -> Node:
        return next(node for node in self.nodes if node.name == name)

    def mapper_path(self, volume: str) -> str:
        """/dev/mapper name of a logical volume of the volume group, as the procedure writes it in
        fstab (dashes doubled, as device-mapper names it)."""
        group = self.volume_group.name
        return f"/dev/mapper/{group.replace('-', '--')}-{volume.replace('-', '--')}"

    def replication_address(self, node: Node) -> str:
        """The address the node replicates on (DRBD, o2cb, unison): its back-to-back address in
        backlink mode, else its LAN address."""
        if self.replication_link.mode == "backlink" and node.link_address is not None:
            return str(node.link_address)
        return str(node.lan_address)

    @property
    def cluster_members(self) -> dict[str, str]:
        """o2cb node name -> address:port, as configfs shows a registered cluster."""
        port = self.ocfs2_cluster.port
        return {node.name: f"{self.replication_address(node)}:{port}" for node in self.nodes}

    def ocfs2_resource(self, volume: Ocfs2Volume) -> DrbdResource:
        """The DRBD resource an OCFS2 volume is made on."""
        return self.drbd_resources[volume.drbd_resource]

    @property
    def ocfs2_devices(self) -> list[tuple[str, int]]:
        """(device, DRBD minor) of every OCFS2 volume, the Ocfs2 fact's argument."""
        resources = [self.ocfs2_resource(volume) for volume in self.ocfs2_volumes.values()]
        return [(resource.device, resource.minor) for resource in resources]

    def resolve_public_path(self, path: str) -> str:
        """Follow the public symlinks under /vol to the server-side path (one level, as the procedure)."""
        for link in self.public_links:
            if is_under(path, link.path):
                return link.target + path[len(link.path) :]
        return path

    @property
    def ocfs2_mounts(self) -> list[str]:
        """The OCFS2 volumes' mount points, in their configured order."""
        return [volume.mount_point for volume in self.ocfs2_volumes.values()]

    @property
    def volume_mounts(self) -> list[str]:
        """Every configured mount point: ext4 and unison logical volumes, and OCFS2 volumes."""
        mounts = [volume.mount_point for volume in self.logical_volumes.values() if volume.mount_point]
        return mounts + self.ocfs2_mounts

    @property
    def exported_volume_mounts(self) -> list[str]:
        """Mount points whose data is replicated and so may be exported: OCFS2 and unison volumes."""
        unison = [volume.mount_point for volume in self.logical_volumes.values() if volume.role == "unison"]
        return self.ocfs2_mounts + [mount for mount in unison if mount]

    def resolve_volume_mount(self, path: str) -> str:
        """The mount point of the volume that holds a path (validation guarantees there is one)."""
        holders = [mount for mount in self.volume_mounts if is_under(path, mount)]
        return max(holders, key=len) if holders else "/"

    def ocfs2_mount_options_for(self, volume: Ocfs2Volume) -> list[str]:
        """
        The volume's mount options: ocfs2_mount_options, plus ``sync`` when NFS exports from it.

        nfsd makes a client's stable write durable with a per-write sync flag (RWF_SYNC) that
        OCFS2 (kernel 6.1) ignores, while it honours a synchronous mount: without ``sync``, writes
        the server has acknowledged stay in its page cache for up to 30 s (seen on the lab: lost
        at a power cut).
        """
        exported = any(
            is_under(self.resolve_public_path(export.path), volume.mount_point) for export in self.nfs_exports
        )
        options = list(self.ocfs2_mount_options)
        if exported and "sync" not in options:
            options.append("sync")
        return options

    def peer_of(self, name: str) -> Node:
        return next(node for node in self.nodes if node.name != name)

    def peer_addresses(self, name: str) -> list[str]:
        """Every address the node's peer may replicate from: its LAN address and its
        back-to-back address, whichever mode the link is in (a link move changes the mode)."""
        peer = self.peer_of(name)
        return [str(address) for address in (peer.lan_address, peer.link_address) if address is not None]

    @property
    def apt_by_address(self) -> bool:
        """apt reaches its servers by address: its source files are checked and rewritten."""
        return bool(self.apt_sources or self.apt_addresses)

    @property
    def replication_ports(self) -> list[int]:
        """The TCP ports the pair replicates on: each DRBD resource's and o2cb's."""
        return sorted({*(resource.port for resource in self.drbd_resources.values()), self.ocfs2_cluster.port})

    def nfs_client_sources(self, client_network: IPv4Network) -> list[str]:
        """The addresses and networks NFS clients come from: the client network and every export
        client or trusted host given by address (a host name is expected inside the client network)."""
        sources = [str(client_network)]
        for export in self.nfs_exports:
            for client in [*export.clients, *export.no_root_squash_hosts]:
                try:
                    network = IPv4Network(client, strict=False)
                except ValueError:
                    continue
                sources.append(str(network.network_address) if network.prefixlen == 32 else str(network))
        return list(dict.fromkeys(sources))


# --- the rest of the network --------------------------------------------------------------


class SiteConfig(Model):
    """Values every host shares (group_data/all.py)."""

    domain: Annotated[str, Field(pattern=r"^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$")] = "pasta.net"
    nis_domain: Annotated[str, Field(pattern=r"^[A-Za-z0-9._-]+$")] = "pasta.net"
    nis_server: IPv4Address
    # The maps each storage node copies from the master and serves itself (yp.conf "server
    # localhost"): its copy is all that node's NIS lookups see.
    nis_maps: list[Annotated[str, Field(pattern=r"^[A-Za-z0-9_][A-Za-z0-9._-]*$")]] = Field(
        default=["passwd.byname", "passwd.byuid", "group.byname", "group.bygid", "netid.byname"], min_length=1
    )
    client_network: IPv4Network


class AutomountEntry(Model):
    options: list[MountOption] = ["-noquota", "noatime", "nodiratime", "nfsvers=3"]
    servers: list[Server]
    path: AbsolutePath

    @property
    def map_options(self) -> list[str]:
        """The options in the map: nosuid and nodev added unless the entry names suid or dev itself.

        AUTH_SYS trusts whoever is root on any client: a setuid file or a device node planted
        through one client must not work on another.
        """
        named = {option.lstrip("-") for option in self.options}
        added = [option for option in ("nosuid", "nodev") if not named & {option, option.removeprefix("no")}]
        return [*self.options, *added]


class NisServerConfig(Model):
    """The NIS master's automount maps (group_data/nis_servers.py)."""

    automount_maps: dict[Annotated[str, Field(pattern=r"^auto\.[a-z0-9_]+$")], dict[str, AutomountEntry]]


class ClientLink(Model):
    path: AbsolutePath
    # Relative targets are allowed: the procedure's "ln -s staging/pub /pub".
    target: AbsolutePath | RelativePath


class NfsClientConfig(Model):
    """What NFS clients mount (group_data/nfs_clients.py)."""

    automount_points: dict[AbsolutePath, Annotated[str, Field(pattern=r"^auto\.[a-z0-9_]+$")]]
    client_links: list[ClientLink] = []


# Top-level group_data keys and the model that owns each; a key no model owns is a typo.
STORAGE_KEYS = frozenset(StorageConfig.model_fields)
SITE_KEYS = frozenset(SiteConfig.model_fields)
NIS_SERVER_KEYS = frozenset(NisServerConfig.model_fields)
NFS_CLIENT_KEYS = frozenset(NfsClientConfig.model_fields)
