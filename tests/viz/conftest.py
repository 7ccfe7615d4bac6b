"""The rendering tests check real renders: ``dot`` must be installed."""

from __future__ import annotations

import shutil

import pytest


@pytest.fixture(autouse=True, scope="session")
def _dot_installed():
    # These tests exist to check real renders; without dot they must fail loudly, not skip.
    assert shutil.which("dot"), "the Graphviz 'dot' program is needed: apt-get install graphviz"
