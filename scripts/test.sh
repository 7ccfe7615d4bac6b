#!/usr/bin/env bash
# The test suite: sets itself up (dev tools, examples' libraries, PyTorch as the
# reference, the docs tools for the docs site's tests), then runs pytest on both cores.
EXTRAS="dev,examples,torch,docs"
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
# --- backprop player: a real browser for tests/player (begin) ---
# Debian's chromium, driven by Playwright from the dev extra (a driver only: never
# `playwright install`, which downloads browsers). Installed when root and missing;
# otherwise not, and the browser tests skip with one line saying how to enable them
# (under CI=true a missing browser fails them instead: tests/player/conftest.py).
if ! command -v chromium >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing chromium with apt-get (for the backprop player's browser tests) ..."
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) >/dev/null || true
fi
# --- backprop player (end) ---
# Two pytest workers on two cores: one BLAS thread each, or they fight over the cores.
export OPENBLAS_NUM_THREADS="${OPENBLAS_NUM_THREADS:-1}" OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}"
exec .venv/bin/python -m pytest -n 2 "$@"
