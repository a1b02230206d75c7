"""Shared test configuration: hypothesis profiles, selected with ``--deep``.

``pytest`` runs the "default" profile (a modest number of examples, fast enough for every commit);
``pytest --deep`` runs the "deep" profile, many more examples per property, for a thorough search.
Tests leave ``max_examples`` to the profile, or scale it from ``settings.default`` so --deep reaches them too.
"""

from hypothesis import HealthCheck, settings

settings.register_profile(
    "default",
    max_examples=60,
    deadline=None,  # timings on a shared 2-core machine are noise, not a property of the code
    suppress_health_check=[HealthCheck.too_slow],
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
