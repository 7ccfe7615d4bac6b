#!/usr/bin/env bash
# The documentation site: sets itself up (the docs extra, and the examples' libraries the
# course notebooks plot with), then builds site/ with Sphinx in strict mode: a warning, a
# broken cross-reference or a notebook cell that raises fails the build. Open
# site/index.html in a browser (it works offline). Extra arguments go to sphinx-build.
EXTRAS="docs,examples"
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
export OPENBLAS_NUM_THREADS="${OPENBLAS_NUM_THREADS:-1}" OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}"
start=$SECONDS
# -W --keep-going: every warning is reported, then the build fails; -j 2: two cores
# (notebooks execute in parallel); -E: read every page again (a clean, honest build)
.venv/bin/python -m sphinx -b html -W --keep-going -E -j 2 -q -d build/doctrees docs site "$@"
echo "docs: site/index.html built in $((SECONDS - start)) s"
