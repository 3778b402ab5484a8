# Sourced by scripts/demo and scripts/test: install what the project needs on a Debian 12
# machine (as root) and activate the project's virtualenv in .venv.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# gpg and its agent sign the apt mirror tests/e2e/test_sources.py serves to the lab; shellcheck
# checks every script the deploy writes (tests/test_shell.py).
DEBIAN_PACKAGES=(qemu-system-x86 qemu-utils debootstrap vde2 dpkg-dev openssh-client e2fsprogs python3-venv python3-pip gpg gpg-agent shellcheck)
missing=()
for package in "${DEBIAN_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if [ "${#missing[@]}" -gt 0 ]; then
    echo "setup: installing Debian packages: ${missing[*]}"
    apt-get update -q
    DEBIAN_FRONTEND=noninteractive apt-get install -q -y --no-install-recommends "${missing[@]}"
fi

PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
# Reinstall only when pyproject.toml changed since the last install.
if [ ! -e .venv/.installed ] || [ pyproject.toml -nt .venv/.installed ]; then
    .venv/bin/python -m pip install -q --upgrade pip
    .venv/bin/python -m pip install -q -e '.[dev]'
    touch .venv/.installed
fi
# shellcheck disable=SC1091
source .venv/bin/activate
