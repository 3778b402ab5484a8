# Upgrades every package to the release the sources name ($1, its codename), Debian's release
# notes' way (a minimal upgrade, then the full one), keeping the configuration files the deploy
# wrote and starting no service from a package's scripts: the node is out of service, and a
# started nfs-server would export the empty mount points.
policy=/usr/sbin/policy-rc.d
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
# shellcheck disable=SC2086
apt-get -y -q $keep full-upgrade
codename=$(sed -n "s/^VERSION_CODENAME=//p" /etc/os-release)
if [ "$codename" != "$1" ]; then
    echo "twinstore: after the upgrade /etc/os-release names $codename, not $1" >&2
    exit 1
fi
