#!/usr/bin/env bash
# The test suite: sets itself up (dev tools, examples' libraries, PyTorch as the
# reference), then runs pytest on both cores.
EXTRAS="dev,examples,torch"
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
exec .venv/bin/python -m pytest -n 2 "$@"
