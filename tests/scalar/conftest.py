"""Fixtures for the scalar engine's tests. Test helpers live in ``scalar_oracles.py`` next to this file."""

import pytest

from naivegrad.grad_mode import _state


@pytest.fixture(autouse=True)
def grad_mode_restored():
    """A failing grad-mode test must not leave recording switched off for every test after it."""
    yield
    enabled, _state.enabled = _state.enabled, True
    assert enabled, "a test left grad recording disabled"
