"""Shared test configuration: one BLAS thread per process, the test harness on ``sys.path``, and hypothesis
profiles selected with ``--deep``.

``tests/harness`` (the op table and the machinery that runs it on both engines) is imported as ``harness``:
this file puts ``tests/`` on ``sys.path`` itself, whatever pytest's import mode, so ``pytest`` works from the
repository, from an unpacked ``git archive``, and from bench/mutation.py's runs against a copied package.

``pytest`` runs the "default" profile (a modest number of examples, fast enough for every commit);
``pytest --deep`` runs the "deep" profile, many more examples per property, for a thorough search.
Tests leave ``max_examples`` to the profile, or scale it from ``settings.default`` so --deep reaches them too.
"""

import os
import sys

# One BLAS thread per test process: pytest runs on every core through pytest-xdist (``-n auto`` in setup.cfg),
# and numpy's BLAS threads spin while they wait, so workers that each start a pool per core slow one another
# down many times over. Set before numpy loads (the workers inherit it); a user's explicit setting wins.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

from pathlib import Path  # noqa: E402

import pytest  # noqa: E402
from hypothesis import HealthCheck, settings  # noqa: E402

# The real MNIST test set lies beside the project's root on the project's own machines (../shared).
SHARED_MNIST = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "mnist"

TESTS = os.path.dirname(os.path.abspath(__file__))
if TESTS not in sys.path:
    sys.path.insert(0, TESTS)

settings.register_profile(
    "default",
    max_examples=60,
    deadline=None,  # timings on a shared 2-core machine are noise, not a property of the code
    suppress_health_check=[HealthCheck.too_slow],
    # The same examples on every run (each test's own seed): a failure reproduces, and CI cannot fail by a draw.
    # `--deep` draws afresh, thousands of examples, to find what these miss.
    derandomize=True,
)
settings.register_profile(
    "deep",
    max_examples=2000,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


def pytest_addoption(parser):
    parser.addoption(
        "--deep",
        action="store_true",
        default=False,
        help="run hypothesis property tests with many more examples (the 'deep' profile)",
    )


def pytest_configure(config):
    # Test modules are imported after this hook, so settings.default already holds the chosen profile there.
    settings.load_profile("deep" if config.getoption("--deep") else "default")


@pytest.fixture(scope="session")
def real_mnist_dir():
    """The folder of the real t10k files, or a skip saying why the test cannot run here."""
    names = ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")
    if not all((SHARED_MNIST / name).is_file() for name in names):
        pytest.skip(f"real MNIST test set not found at {SHARED_MNIST} (it is only on the project's own machines)")
    return SHARED_MNIST
