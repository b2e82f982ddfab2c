#!/usr/bin/env bash
# Refresh the locks in requirements/ from pyproject.toml's ranges: the newest releases inside them,
# pinned with their hashes, for every platform and Python 3.11 and later (docs/dependencies.md).
#
#   bash requirements/lock.sh          # then run the suite on them: bash .ci/run
#
# One resolution of everything comes first, and every lock is constrained by it, so a package
# shared by two locks has the same version in both (tests/test_lock.py checks it).
set -euo pipefail
cd "$(dirname "$0")/.."
UV_VERSION=0.13.9

uv=${UV:-$(command -v uv || true)}
if [ -z "$uv" ]; then
    tools=$(mktemp -d)
    trap 'rm -rf "$tools"' EXIT
    python3 -m venv "$tools/venv"
    "$tools/venv/bin/pip" install -q "uv==$UV_VERSION"
    uv="$tools/venv/bin/uv"
fi

common=(--universal --python-version 3.11 --quiet --no-annotate
        --custom-compile-command "bash requirements/lock.sh")
all=$(mktemp)
"$uv" pip compile pyproject.toml requirements/build.in requirements/bundle.in \
    --all-extras "${common[@]}" -o "$all"

lock() {  # lock NAME INPUT... [-- UV OPTIONS]
    local name=$1
    shift
    "$uv" pip compile "$@" -c "$all" --generate-hashes "${common[@]}" \
        -o "requirements/$name.txt"
    echo "requirements/$name.txt: $(grep -c '^[a-z0-9]' "requirements/$name.txt") packages"
}
lock app pyproject.toml requirements/build.in
lock test pyproject.toml requirements/build.in --extra test
lock clients pyproject.toml requirements/build.in --extra test --extra clients
lock bundle pyproject.toml requirements/build.in requirements/bundle.in
rm -f "$all"
