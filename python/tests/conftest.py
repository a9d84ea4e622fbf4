"""Shared fixtures. torchcdat must be importable (installed, or PYTHONPATH=DIR of `pip install --target DIR`).
The parity tests need the CLI: $CDAT_BIN, or build/apps/cdat/cdat of the repository."""
import os
import pathlib

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def repo():
    return REPO


@pytest.fixture(scope="session")
def cdat_bin():
    path = pathlib.Path(os.environ.get("CDAT_BIN", REPO / "build" / "apps" / "cdat" / "cdat"))
    if not path.is_file():
        pytest.fail(f"the cdat CLI is not at {path}: build it (cmake --build build --target cdat) or set CDAT_BIN")
    return path
