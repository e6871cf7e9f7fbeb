"""A process that runs many tasks gives back what a finished task freed (glibc keeps it otherwise)."""

import subprocess
import sys

import pytest

pytestmark = pytest.mark.unit

_FREED_IN_THE_MIDDLE_OF_THE_HEAP = """
import json
from datafactory.memory import release_freed_memory, resident_mb
# ~375 MB of heap blocks (below glibc's mmap threshold), each followed by a small block that stays
# alive, as a task's frames are interleaved with objects that outlive it: nothing can coalesce with
# the heap's top, so glibc keeps every freed page.
pairs = [(bytearray(64 * 1024), bytearray(2048)) for _ in range(6000)]
survivors = [small for _, small in pairs]
del pairs
held = resident_mb()
above = release_freed_memory(threshold_mb=held + 1024)  # under the threshold: nothing is tried
given = release_freed_memory(threshold_mb=0)
print(json.dumps({"held": held, "above": above, "given": given, "after": resident_mb()}))
"""


def test_freed_heap_goes_back_to_the_system_only_above_the_threshold():
    import json

    done = subprocess.run([sys.executable, "-c", _FREED_IN_THE_MIDDLE_OF_THE_HEAP], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    figures = json.loads(done.stdout)
    assert figures["above"] == 0.0
    assert figures["given"] > 250, figures  # most of the ~375 MB freed
    assert figures["after"] < figures["held"] - 250, figures
