"""Fixtures for the parity suite (generated from ``naivegrad.registry``): grad mode restored after each test."""

import pytest

from naivegrad.grad_mode import _state


@pytest.fixture(autouse=True)
def grad_mode_restored():
    """A failing test must not leave recording switched off for every test after it."""
    yield
    enabled, _state.enabled = _state.enabled, True
    assert enabled, "a test left grad recording disabled"
