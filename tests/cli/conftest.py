"""Fixtures for the ``naivegrad`` command's tests. Helpers live in ``cli_helpers.py`` next to this file."""

import pytest

from naivegrad.app import cli


@pytest.fixture
def run_cli(capsys):
    """``run_cli(*argv)`` -> (exit status, stdout, stderr) of ``naivegrad.app.cli.main(argv)``, in-process."""

    def run(*argv):
        capsys.readouterr()  # drop anything printed before
        status = cli.main([str(a) for a in argv])
        out, err = capsys.readouterr()
        return status, out, err

    return run
