"""Gives memory a finished task freed back to the operating system, in a process that runs many tasks.

glibc keeps freed heap pages for reuse and Arrow's allocator keeps freed blocks for a while, so a
long-lived process's resident set stays at the size of its largest task and the next large task
adds its own peak on top. Trimming after a task returns those pages (Airflow's supervisor gets the
same effect by ending each task's process)."""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import resource
import sys
from pathlib import Path

TRIM_ABOVE_MB = 1024  # below this the process has little to give back, and trimming would cost more than it saves


def resident_mb() -> float:
    return int(Path("/proc/self/statm").read_text().split()[1]) * resource.getpagesize() / 2**20


@functools.cache
def _malloc_trim():
    """glibc's malloc_trim, or None where the C library has none (musl, macOS)."""
    name = ctypes.util.find_library("c")
    if not name:
        return None
    return getattr(ctypes.CDLL(name), "malloc_trim", None)


def release_freed_memory(threshold_mb: float = TRIM_ABOVE_MB) -> float:
    """Hand freed memory back (Arrow's pool, then glibc's heap) when the resident set is above the
    threshold; returns the megabytes given back (0.0 when nothing was tried)."""
    if not Path("/proc/self/statm").exists():
        return 0.0
    before = resident_mb()
    if before < threshold_mb:
        return 0.0
    if "pyarrow" in sys.modules:
        sys.modules["pyarrow"].default_memory_pool().release_unused()
    trim = _malloc_trim()
    if trim is not None:
        trim(0)
    return max(0.0, before - resident_mb())
