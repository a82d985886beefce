"""SDG indicator kernels: numpy arrays in, numpy arrays out, numba-compiled, no I/O (issue 4)."""
