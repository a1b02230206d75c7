"""Fixtures for the tensor engine's tests. The per-op checks are generated from the op table (tests/harness)
in tests/parity; the tests here are about the engine itself."""

import pytest

from naivegrad.grad_mode import _state


@pytest.fixture(autouse=True)
def grad_mode_restored():
    """A failing grad-mode test must not leave recording switched off for every test after it."""
    yield
    enabled, _state.enabled = _state.enabled, True
    assert enabled, "a test left grad recording disabled"
