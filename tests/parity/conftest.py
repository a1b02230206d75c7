"""Fixtures for the parity suite (generated from the op table, ``tests/harness``): grad mode restored after each test.

``NAIVEGRAD_NO_SHRINK=1`` turns hypothesis's shrinking off (bench/mutation.py sets it: it only needs to know
that a test fails, and shrinking a 200-node DAG can take minutes).
"""

import os

import pytest
from hypothesis import Phase, settings

from naivegrad.grad_mode import _state


def pytest_sessionstart(session):
    # After tests/conftest.py chose the default or deep profile, before the test modules read settings.default.
    if os.environ.get("NAIVEGRAD_NO_SHRINK") == "1":
        settings.register_profile("no-shrink", settings(settings.default,
                                                        phases=[Phase.explicit, Phase.reuse, Phase.generate]))
        settings.load_profile("no-shrink")


@pytest.fixture(autouse=True)
def grad_mode_restored():
    """A failing test must not leave recording switched off for every test after it."""
    yield
    enabled, _state.enabled = _state.enabled, True
    assert enabled, "a test left grad recording disabled"
