"""Keep the C heap from hoarding freed message bodies (glibc; a no-op elsewhere).

Bodies are large, short-lived bytes objects allocated on several worker threads. With
glibc's defaults each thread gets its own arena and the mmap threshold rises to the
largest body freed so far, so freed bodies stay in arenas: peak RSS then creeps up with
the number of messages copied (measured: 211 MB for 50,000 messages vs 162 MB with two
arenas, 140 MB with a fixed 1 MiB mmap threshold). Both settings are process-wide.
"""

from __future__ import annotations

import ctypes
import functools
import sys

M_MMAP_THRESHOLD = -3  # glibc <malloc.h>
M_ARENA_MAX = -8
MMAP_THRESHOLD = 1 << 20  # bodies above this go straight back to the OS when freed
ARENA_MAX = 2


@functools.cache
def limit_heap_growth() -> bool:
    """Apply once per process; True when the C library took both settings."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    took_threshold = mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD) == 1
    took_arenas = mallopt(M_ARENA_MAX, ARENA_MAX) == 1
    return took_threshold and took_arenas
