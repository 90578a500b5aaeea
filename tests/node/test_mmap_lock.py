"""The address-space lock: who waits for a walker, and for how long."""

from __future__ import annotations

import pytest

from fleetsim.node.mmap_lock import MmapLock


@pytest.fixture
def lock() -> MmapLock:
    held = MmapLock()
    held.hold(10.0, 12.0, 15.0)  # smaps read 10-12 s, clear_refs write 12-15 s
    return held


def test_a_page_fault_waits_only_for_the_write_hold(lock: MmapLock) -> None:
    assert lock.wait_to_read(9.0) == 0.0
    assert lock.wait_to_read(11.0) == 0.0  # readers share the lock with the smaps walk
    assert lock.wait_to_read(12.0) == pytest.approx(3.0)
    assert lock.wait_to_read(14.5) == pytest.approx(0.5)
    assert lock.wait_to_read(15.0) == 0.0


def test_a_map_change_waits_for_any_hold(lock: MmapLock) -> None:
    assert lock.wait_to_write(9.99) == 0.0
    assert lock.wait_to_write(10.0) == pytest.approx(5.0)
    assert lock.wait_to_write(13.0) == pytest.approx(2.0)
    assert lock.wait_to_write(15.0) == 0.0


def test_a_walk_without_clear_refs_never_blocks_a_page_fault() -> None:
    lock = MmapLock()
    lock.hold(10.0, 12.0, 12.0)  # smaps only
    assert all(lock.wait_to_read(t) == 0.0 for t in (10.0, 11.0, 11.99, 12.0))
    assert lock.wait_to_write(11.0) == pytest.approx(1.0)


def test_a_new_lock_is_free() -> None:
    lock = MmapLock()
    assert lock.wait_to_read(0.0) == 0.0
    assert lock.wait_to_write(0.0) == 0.0
