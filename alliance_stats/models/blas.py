"""One BLAS thread while a model is fitted.

The fits here work with many small matrices (a Schur complement over tens of therapists, a
Hessian over a few parameters); OpenBLAS's threads cost more than they save on those (the
clinic SRS-alert model fitted 3x slower with two threads than with one on a 2-core
machine), and R's lme4 runs single-threaded as well. :func:`one_thread` limits BLAS to one
thread for the duration of a ``with`` block and restores the caller's setting after it;
:func:`single_threaded` does so for every call of a function.

Examples
--------
>>> with one_thread():
...     pass
>>> single_threaded(sum)([1, 2])
3
"""

from __future__ import annotations

import contextlib
import functools
from functools import cache


@cache
def _controller():
    import scipy.linalg  # noqa: F401  (load scipy's BLAS before looking for libraries)
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()


def one_thread() -> contextlib.AbstractContextManager:
    """A context in which BLAS libraries (numpy's, scipy's) use one thread."""
    return _controller().limit(limits=1, user_api="blas")


def single_threaded(func):
    """Decorate ``func`` so that it runs in :func:`one_thread`."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        with one_thread():
            return func(*args, **kwargs)

    return wrapper
