# Upgrades every package to the release the sources name ($1, its codename), Debian's release
# notes' way (a minimal upgrade, then the full one), keeping the configuration files the deploy
# wrote and starting no service from a package's scripts: the node is out of service, and a
# started nfs-server would export the empty mount points. Any failure stops here, before the
# reboot: the node stays out of service, its peer serving, with apt's error in the run's output.
#
# $policy: invoke-rc.d's policy file. $2...: the packages of the pair's fence agents on the new
# release. Debian 12's fence-agents holds every agent; on 13 it is a metapackage of all 87 and
# every cloud's SDK (a gigabyte unpacked), so it is replaced by the pair's agents before the full
# upgrade would pull them in.
set -e
codename=$1
shift
if [ -e "$policy" ]; then
    echo "twinstore: $policy exists already; not upgrading over a policy someone else set" >&2
    exit 1
fi
printf '#!/bin/sh\nexit 101\n' > "$policy"
chmod 755 "$policy"
trap 'rm -f "$policy"' EXIT
export DEBIAN_FRONTEND=noninteractive UCF_FORCE_CONFFOLD=1
keep="-o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold"
# shellcheck disable=SC2086 # $keep is two options, each one word
apt-get -y -q $keep upgrade --without-new-pkgs
if dpkg-query -W -f '${Status}\n' fence-agents 2>/dev/null | grep -q ' installed$'; then
    # shellcheck disable=SC2086
    apt-get -y -q $keep install "$@" fence-agents-
fi
# shellcheck disable=SC2086
apt-get -y -q $keep full-upgrade
found=$(sed -n "s/^VERSION_CODENAME=//p" /etc/os-release)
if [ "$found" != "$codename" ]; then
    echo "twinstore: after the upgrade /etc/os-release names $found, not $codename" >&2
    exit 1
fi
