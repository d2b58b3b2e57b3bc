"""Test-session settings shared by every test module."""

import numpy  # noqa: F401  (load both BLAS copies before limiting them)
import scipy.linalg  # noqa: F401
from threadpoolctl import threadpool_limits

# One BLAS thread: the suite's matrices are small, and on a shared 2-core machine a multithreaded
# OpenBLAS spinning against another process ran BEMA fits 20x slower. Results do not change.
_BLAS_LIMIT = threadpool_limits(limits=1, user_api="blas")
