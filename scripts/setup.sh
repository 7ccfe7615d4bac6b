#!/usr/bin/env bash
# Sourced by demo.sh and test.sh: makes .venv, installs minigrad (editable) with the
# extras named in $EXTRAS, and the Graphviz `dot` program where it can.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

PY="${PYTHON:-python3}"
if ! "$PY" -c 'import sys; sys.exit(sys.version_info < (3, 10))' 2>/dev/null; then
  echo "minigrad needs Python >= 3.10 (set PYTHON=/path/to/python3.x)" >&2
  exit 1
fi
[ -x .venv/bin/python ] || "$PY" -m venv .venv

# Reinstall only when pyproject.toml or the extras change.
hash="$(cksum < pyproject.toml | cut -d' ' -f1)"
stamp=".venv/.minigrad-installed-$hash-${EXTRAS// /}"
if [ ! -f "$stamp" ]; then
  echo "setting up .venv with minigrad[$EXTRAS] ..."
  .venv/bin/python -m pip install -q --upgrade pip >/dev/null 2>&1 || true
  # pip's and setuptools' chatter goes to a log, shown only if the install fails
  if ! .venv/bin/python -m pip install -q -e ".[$EXTRAS]" > .venv/pip-install.log 2>&1; then
    cat .venv/pip-install.log >&2
    echo "installing this checkout with extras [$EXTRAS] failed (pip's log above)" >&2
    exit 1
  fi
  # stamps of an older pyproject.toml are stale; other extras' stamps of this one stay
  find .venv -maxdepth 1 -name '.minigrad-installed-*' ! -name ".minigrad-installed-$hash-*" -delete
  touch "$stamp"
fi

if ! command -v dot >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing Graphviz (dot) with apt-get ..."
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq graphviz) >/dev/null
  else
    echo "note: Graphviz 'dot' not found; pictures need it: sudo apt-get install graphviz  (macOS: brew install graphviz)" >&2
  fi
fi
