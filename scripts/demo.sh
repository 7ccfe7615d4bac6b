#!/usr/bin/env bash
# The main demo: sets itself up, then runs `python -m minigrad demo`.
EXTRAS="examples"
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
exec .venv/bin/python -m minigrad demo "$@"
