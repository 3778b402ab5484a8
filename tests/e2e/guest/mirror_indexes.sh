#!/bin/sh
# A Debian mirror's indexes, made on the lab's client from a repository's Packages file: for
# each suite, dists/SUITE/main/binary-amd64/Packages (the release's packages, pointing into
# pool/; the other suites empty) and a Release naming its SHA256, for apt on the storage guests.
# Usage: mirror_indexes.sh MIRROR PACKAGES RELEASE SUITE...
set -e
mirror=$1
packages=$2
release=$3
shift 3
for suite in "$@"; do
    dists="$mirror/dists/$suite"
    index=main/binary-amd64/Packages
    mkdir -p "$dists/main/binary-amd64"
    if [ "$suite" = "$release" ]; then
        sed 's|^Filename: \./|Filename: pool/|' "$packages" > "$dists/$index"
    else
        : > "$dists/$index"
    fi
    {
        echo "Origin: twinstore-lab"
        echo "Suite: $suite"
        echo "Codename: $suite"
        echo "Date: $(date -Ru)"
        echo "Architectures: amd64"
        echo "Components: main"
        echo "SHA256:"
        echo " $(sha256sum < "$dists/$index" | cut -d' ' -f1) $(stat -c %s "$dists/$index") $index"
    } > "$dists/Release"
done
