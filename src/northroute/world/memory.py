"""Keep freed big arrays from lingering in the process.

glibc raises its mmap threshold each time a large block is freed, so the week's temporaries (several
MB each) soon come from the heap and, once freed, stay mapped: at national scale that doubled the
extra memory a run holds. Fixing the threshold at 1 MiB keeps big arrays in their own mappings,
which go back to the system when freed. Elsewhere than glibc this does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
from functools import cache

M_MMAP_THRESHOLD = -3  # glibc malloc.h
THRESHOLD_BYTES = 1 << 20


@cache
def tune_allocator() -> bool:
    """Set glibc's mmap threshold once per process; True if it took effect."""
    name = ctypes.util.find_library("c")
    if not name:
        return False
    try:
        libc = ctypes.CDLL(name)
        return bool(libc.mallopt(M_MMAP_THRESHOLD, THRESHOLD_BYTES))
    except (OSError, AttributeError):
        return False
