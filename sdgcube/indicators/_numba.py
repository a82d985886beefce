"""The one numba decorator of the indicator kernels: compiled, cached on disk, releasing the GIL."""

from __future__ import annotations

import numba

__all__ = ["ngjit", "ngjit_parallel"]

ngjit = numba.njit(nogil=True, cache=True)
ngjit_parallel = numba.njit(nogil=True, cache=True, parallel=True)
"""For kernels called on a whole array outside Dask (benchmarks, small areas): ``prange`` loops."""
