"""OCFS2 on the o2cb stack: whether the cluster is online, and what each DRBD device holds.

One command: configfs shows a registered cluster and its heartbeat threshold; blkid -p
probes each device the configuration puts OCFS2 on.

Seen on the lab (Debian 12, ocfs2-tools 1.8.7, by hand, before the deploy does it): o2cb is an
LSB script run by o2cb.service, which reads /etc/default/o2cb and registers the cluster
from /etc/ocfs2/cluster.conf; mkfs.ocfs2 -T mail -N 2 on a 1 GiB drbd0 takes 9 s; the
kernel lists every configured mount option, _netdev included, so server.mount with the
configured options is idempotent; blkid -p on the backing LV still reports TYPE=drbd (the
internal metadata wins), so the DRBD fact keeps seeing metadata under OCFS2.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pyinfra.api import FactBase, QuoteString, StringCommand
from typing_extensions import override

from facts.lvm import SECTION

SCRIPT = r"""
cluster=$1; shift
echo "{section}cluster"
config=/sys/kernel/config/cluster/$cluster
if [ -d "$config" ]; then
    echo "ONLINE=1"
    echo "DEAD_THRESHOLD=$(cat "$config/heartbeat/dead_threshold" 2>/dev/null)"
    echo "NODES=$(ls "$config/node" 2>/dev/null | tr '\n' ' ')"
fi
for device in "$@"; do
    echo "{section}device $device"
    if [ ! -b "$device" ]; then echo "MISSING=1"; continue; fi
    probe=$(blkid -p -o export "$device" 2>/dev/null); echo "BLKID_RC=$?"
    echo "$probe" | grep -E '^(TYPE|LABEL|UUID)='
done
true
"""


@dataclass(frozen=True)
class Ocfs2Device:
    """What blkid finds on one device."""

    path: str
    exists: bool = False
    blkid_status: int = 2
    signature: str | None = None
    label: str | None = None

    @property
    def blank(self) -> bool:
        """blkid found no signature (exit status 2), so mkfs.ocfs2 would overwrite nothing it knows of."""
        return self.exists and self.blkid_status == 2 and self.signature is None

    @property
    def has_ocfs2(self) -> bool:
        return self.signature == "ocfs2"


@dataclass(frozen=True)
class Ocfs2State:
    online: bool = False
    dead_threshold: int | None = None
    cluster_nodes: tuple[str, ...] = ()
    devices: dict[str, Ocfs2Device] = field(default_factory=dict)


class Ocfs2(FactBase[Ocfs2State]):
    """
    The o2cb cluster's state and the signature on each given device.

    .. code:: python

        Ocfs2State(online=True, dead_threshold=61, cluster_nodes=("fiori", "torchio"),
                   devices={"/dev/drbd0": Ocfs2Device(path="/dev/drbd0", exists=True, signature="ocfs2", ...)})
    """

    @override
    @staticmethod
    def default() -> Ocfs2State:
        return Ocfs2State()

    @override
    def command(self, cluster: str, devices: list[str]) -> StringCommand:
        script = SCRIPT.format(section=SECTION)
        return StringCommand("sh", "-c", QuoteString(script), "sh", QuoteString(cluster), *map(QuoteString, devices))

    @override
    def process(self, output: list[str]) -> Ocfs2State:
        sections: dict[str, dict[str, str]] = {}
        current: dict[str, str] = {}
        for line in output:
            if line.startswith(SECTION):
                current = sections.setdefault(line[len(SECTION) :].strip(), {})
            elif "=" in line:
                key, value = line.split("=", 1)
                current[key] = value
        cluster = sections.get("cluster", {})
        devices = {}
        for header, values in sections.items():
            if not header.startswith("device "):
                continue
            path = header.split(" ", 1)[1]
            devices[path] = Ocfs2Device(
                path=path,
                exists="MISSING" not in values,
                blkid_status=int(values.get("BLKID_RC", "2")),
                signature=values.get("TYPE"),
                label=values.get("LABEL"),
            )
        threshold = cluster.get("DEAD_THRESHOLD", "")
        return Ocfs2State(
            online="ONLINE" in cluster,
            dead_threshold=int(threshold) if threshold.isdigit() else None,
            cluster_nodes=tuple(sorted(cluster.get("NODES", "").split())),
            devices=devices,
        )
