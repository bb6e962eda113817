"""Replicas share nothing but the store: a phone that moves to another replica (its own was killed)
and comes back with the same device id still has one vote, the one it cast last. Runs on both backends.

The browser test (tests/browser/test_replicas.py) kills a real replica under two phones, whose ids
live in their links and cookies, and checks the same through nginx.
"""

from __future__ import annotations

from aiart.classroom.connect import open_store
from aiart.classroom.rooms import Classroom, CodeLimiter
from aiart.classroom.store import Tally

AI, HUMAN = "AI_GENERATED", "NON_AI_GENERATED"


def test_a_phone_moved_to_another_replica_keeps_its_single_vote(store_target):
    stores = [open_store(store_target) for _ in range(3)]  # three replicas' own connections
    teacher, phone_replica, fallback = (Classroom(s) for s in stores)
    key = teacher.start()
    number = teacher.open_round(key, "a.png", b"jpeg")
    code = phone_replica.join(key.code.lower(), CodeLimiter())
    phone_replica.vote(code, number, "device-1", AI, "hands")
    phone_replica.vote(code, number, "device-2", AI)
    stores[1].close()  # the phones' replica is gone; they reconnect through another one

    assert fallback.join(code, CodeLimiter()) == code and fallback.current(code).number == number
    fallback.vote(code, number, "device-1", HUMAN)  # the same device changes its mind there
    assert teacher.tally(code, number) == Tally(ai=1, human=1, reasons={})
    teacher.close_round(key, number)
    assert fallback.current(code).state == "closed"  # the round goes on for everyone
    for store in (stores[0], stores[2]):
        store.close()
