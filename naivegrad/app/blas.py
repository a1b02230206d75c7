"""One BLAS thread for the small matrices of the language models.

numpy's OpenBLAS splits even a 32 x 64 @ 64 x 256 product over every core, and on a machine where other
processes compete for the cores its threads spin while they wait: a GPT step of ``naivegrad train --dataset
names`` measured 200 ms with two threads on a busy 2-core machine and 30 ms with one. ``one_blas_thread()``
sets OpenBLAS (the library numpy's wheels ship) to one thread for the duration of a block, unless the user
chose a number of threads through the environment (``OPENBLAS_NUM_THREADS``, ``OMP_NUM_THREADS``), and does
nothing where it finds no OpenBLAS.
"""

import ctypes
import glob
import os
from contextlib import contextmanager

__all__ = ["one_blas_thread"]

_ENV = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS")


def _openblas():
    """(get, set) of the OpenBLAS loaded by numpy, or None."""
    try:
        import numpy as np
        folder = os.path.join(os.path.dirname(np.__file__), os.pardir, "numpy.libs")
        for path in sorted(glob.glob(os.path.join(folder, "*openblas*"))):
            lib = ctypes.CDLL(path)
            for prefix, suffix in (("scipy_openblas", "64_"), ("scipy_openblas", ""), ("openblas", "64_"),
                                   ("openblas", "")):
                get = getattr(lib, f"{prefix}_get_num_threads{suffix}", None)
                put = getattr(lib, f"{prefix}_set_num_threads{suffix}", None)
                if get is not None and put is not None:
                    get.restype, put.argtypes = ctypes.c_int, [ctypes.c_int]
                    return get, put
    except (OSError, AttributeError, ImportError):
        pass
    return None


@contextmanager
def one_blas_thread():
    """Run the block with one OpenBLAS thread (see the module docstring); the previous count is restored."""
    funcs = None if any(os.environ.get(k) for k in _ENV) else _openblas()
    if funcs is None:
        yield
        return
    get, put = funcs
    before = get()
    put(1)
    try:
        yield
    finally:
        put(before)
