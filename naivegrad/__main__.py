"""``python -m naivegrad``: the same as the ``naivegrad`` command (see ``naivegrad.cli``)."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
