"""Git transfer slots: a user's own limit, the process's limit, and background work waiting."""

import threading
import time
from uuid import uuid4

import pytest

from control_plane.services.registry.transfer_slots import TransfersBusyError, TransferSlots


def test_a_user_over_their_limit_and_everyone_over_the_process_limit_are_refused():
    slots = TransferSlots(max_total=2, max_per_user=1)
    alice, bob, carol = uuid4(), uuid4(), uuid4()
    with slots.hold(alice):
        mine = pytest.raises(TransfersBusyError, match="You already run 1")
        with mine as raised, slots.hold(alice):
            pass
        assert raised.value.per_user
        with slots.hold(bob):
            everyones = pytest.raises(TransfersBusyError, match="already runs 2")
            with everyones as raised, slots.hold(carol):
                pass
            assert not raised.value.per_user
            assert slots.running == 2
    assert slots.running == 0
    with slots.hold(alice), slots.hold(bob):
        pass


def test_background_work_waits_for_a_free_slot():
    slots = TransferSlots(max_total=1, max_per_user=1)
    started = threading.Event()
    release = threading.Event()

    def holder() -> None:
        with slots.hold(uuid4()):
            started.set()
            release.wait()

    thread = threading.Thread(target=holder)
    thread.start()
    started.wait()
    threading.Timer(0.2, release.set).start()
    began = time.monotonic()
    with slots.hold(None, wait=True):
        waited = time.monotonic() - began
    thread.join()
    assert waited >= 0.15
    assert slots.running == 0
