#!/usr/bin/env bash
# Install Superset into its own virtualenv (.superset-venv at the repo root).
#
# Superset 6.1 pins sqlalchemy<2 and pandas<2.2, so it cannot share the project venv.
# Idempotent: the venv records the sha256 of the lock it was built from and the install is
# skipped when that matches the current lock (a changed lock triggers a re-sync).
#
# Usage: dashboards/install_superset.sh            (uv from .venv/bin/uv, else PATH)
#        SUPERSET_VENV=/path UV=/path/uv dashboards/install_superset.sh
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
LOCK="$REPO/dashboards/requirements-superset.txt"
VENV="${SUPERSET_VENV:-$REPO/.superset-venv}"
UV="${UV:-$REPO/.venv/bin/uv}"
[ -x "$UV" ] || UV="$(command -v uv)"
# The interpreter the project venv was built from (never a download: no network for that).
PYTHON="${SUPERSET_PYTHON:-$REPO/.venv/bin/python}"

lock_hash="$(sha256sum "$LOCK" | cut -d' ' -f1)"
stamp="$VENV/.lock-sha256"

if [ -x "$VENV/bin/superset" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$lock_hash" ]; then
    echo "superset venv up to date: $VENV"
    exit 0
fi

start=$(date +%s)
[ -x "$VENV/bin/python" ] || "$UV" venv --quiet --no-python-downloads --python "$PYTHON" "$VENV"
# `sync` (not `install`) so packages dropped from the lock are removed as well.
"$UV" pip sync --quiet --python "$VENV/bin/python" "$LOCK"
echo "$lock_hash" > "$stamp"
echo "superset installed into $VENV in $(( $(date +%s) - start ))s"
