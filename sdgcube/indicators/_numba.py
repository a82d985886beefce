"""The one numba decorator of the indicator kernels: compiled, cached on disk, releasing the GIL."""

from __future__ import annotations

import numba

__all__ = ["ngjit"]

ngjit = numba.njit(nogil=True, cache=True)
