"""One BLAS thread for the small matrices of the language models.

numpy's OpenBLAS splits even a 32 x 64 @ 64 x 256 product over every core, and on a machine where other
processes compete for the cores its threads spin while they wait: a GPT step of ``naivegrad train --dataset
names`` measured 200 ms with two threads on a busy 2-core machine and 30 ms with one. ``one_blas_thread()``
sets the BLAS numpy uses to one thread for the duration of a block (through threadpoolctl), unless the user
chose a number of threads through the environment (``OPENBLAS_NUM_THREADS``, ``OMP_NUM_THREADS``,
``MKL_NUM_THREADS``).
"""

import os
from contextlib import contextmanager

from threadpoolctl import threadpool_limits

__all__ = ["one_blas_thread"]

_ENV = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


@contextmanager
def one_blas_thread():
    """Run the block with one BLAS thread (see the module docstring); the previous count is restored."""
    if any(os.environ.get(k) for k in _ENV):  # the user chose: leave it
        yield
        return
    # threadpoolctl finds the BLAS numpy actually loaded (OpenBLAS, MKL, BLIS, on every platform) and sets it back
    with threadpool_limits(limits=1, user_api="blas"):
        yield
