"""Settings for the whole suite."""

import pytest


@pytest.fixture(autouse=True)
def one_blas_thread():
    """One BLAS thread per test process.

    The suite runs on 2 cores with 2 pytest workers; a multi-threaded OpenBLAS in each
    worker then spins against the other, and a (300, 64) @ (64, 64) product measured
    26 ms instead of 0.3 ms. Our matrices are small: one thread is the right size.
    """
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # without it, tests still pass, only slower
        yield
        return
    with threadpool_limits(limits=1, user_api="blas"):
        yield
