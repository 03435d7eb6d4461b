"""Give freed memory back to the system between weeks.

glibc keeps freed heap memory mapped, and it raises its mmap threshold each time a large block is
freed, so the week's temporaries (several MB each) soon come from the heap and stay mapped once
freed: at national scale the memory a run holds grew to about twice its live data. `release()`
(glibc's malloc_trim) hands free pages back; the simulation calls it monthly. Elsewhere than glibc
it does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
from functools import cache


@cache
def _libc() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("c")
    try:
        lib = ctypes.CDLL(name) if name else None
        return lib if lib is not None and hasattr(lib, "malloc_trim") else None
    except OSError:
        return None


def release() -> None:
    """Return free heap pages to the system (glibc malloc_trim; a no-op elsewhere)."""
    libc = _libc()
    if libc is not None:
        libc.malloc_trim(0)
