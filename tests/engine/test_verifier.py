"""Signatures verified ahead of the lot's writer (engine/signatures.py ``Verifier``): the
outcomes the rules then take, a verification that raises or a verifier that closed
leaving the rules to verify, and many verifications handed to the threads at once."""

import asyncio
import dataclasses
import threading
import time

import pytest
from rules.support import Lot, english
from rules.test_signing import enrol, signed_bid

from auction import signing
from engine import signatures
from engine.signatures import Signer, Verifier


@pytest.fixture
def lot(monkeypatch: pytest.MonkeyPatch) -> tuple[Lot, Signer]:
    monkeypatch.setattr(signatures, "_AHEAD", {})
    lot, signer = Lot(english(signatures="required")).open("b1", "b2"), Signer.ecdsa_p256()
    enrol(lot, "b1", signer)
    return lot, signer


async def test_verifications_of_one_turn_go_to_the_threads_together_and_the_rules_take_them(
        lot: tuple[Lot, Signer], monkeypatch: pytest.MonkeyPatch) -> None:
    state, signer = lot[0].s, lot[1]
    calls: list[int] = []

    def counting(key: str, certificate: str, message: bytes, sig: str) -> bool:
        calls.append(threading.get_ident())
        return signatures._p256_verify(key, certificate, message, sig)

    monkeypatch.setitem(signing.ALGORITHMS, signatures.ECDSA_P256, signing.Algorithm(
        signatures.ECDSA_P256, signatures._p256_check, signatures._remembered(counting)))
    good = [signed_bid(lot[0], "b1", f"{100 + 10 * i}.00", signer) for i in range(6)]
    bad = dataclasses.replace(good[0], amount=good[0].amount + 1)  # signed for another
    verifier = Verifier(2)
    try:
        await asyncio.gather(*(verifier.ahead(state, c) for c in [*good, bad]))
    finally:
        verifier.close()
    assert verifier.made == 7 and len(calls) == 7
    assert threading.get_ident() not in calls and 1 <= len(set(calls)) <= 2
    assert list(signatures._AHEAD.values()) == [True] * 6 + [False]
    # The rules take each outcome, once, and verify nothing themselves.
    assert signing.check(state, state.bidders["b1"], good[3]) is None
    refused = signing.check(state, state.bidders["b1"], bad)
    assert refused is not None and refused.code == "bad_signature"
    assert len(calls) == 7 and len(signatures._AHEAD) == 5


async def test_what_is_not_known_ahead_is_left_to_the_rules(
        lot: tuple[Lot, Signer], monkeypatch: pytest.MonkeyPatch) -> None:
    state, signer = lot[0].s, lot[1]
    cmd = signed_bid(lot[0], "b1", "100.00", signer)

    def failing(key: str, certificate: str, message: bytes, sig: str) -> bool:
        raise OSError("the library failed")

    monkeypatch.setitem(signing.ALGORITHMS, signatures.ECDSA_P256, signing.Algorithm(
        signatures.ECDSA_P256, signatures._p256_check, failing))
    verifier = Verifier(1)
    await verifier.ahead(state, cmd)  # it raised in the thread: nothing kept
    assert verifier.made == 0 and not signatures._AHEAD
    verifier.close()
    await verifier.ahead(state, cmd)  # closed: nothing kept, nothing raised
    assert verifier.made == 0 and not signatures._AHEAD
    # Queued when the verifier closes: answered, not left waiting.
    open_ = Verifier(1)
    waiting = asyncio.ensure_future(open_.ahead(state, cmd))
    await asyncio.sleep(0)  # queued; its hand-over not yet made
    open_.close()
    await asyncio.wait_for(waiting, 5)
    assert open_.made == 0 and not signatures._AHEAD


async def test_at_most_a_bounded_number_of_outcomes_is_kept(
        lot: tuple[Lot, Signer], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(signatures, "AHEAD_KEPT", 3)
    state, signer = lot[0].s, lot[1]
    verifier = Verifier(1)
    try:
        for i in range(5):  # refused later, before their check: their outcomes stay
            await verifier.ahead(state, signed_bid(lot[0], "b1", f"{100 + i}.00", signer))
    finally:
        verifier.close()
    assert verifier.made == 5 and len(signatures._AHEAD) == 3


async def test_commands_go_on_to_their_writer_in_the_order_they_came_whichever_thread_ends_first(
        lot: tuple[Lot, Signer], monkeypatch: pytest.MonkeyPatch) -> None:
    state, signer = lot[0].s, lot[1]
    cmds = [signed_bid(lot[0], "b1", f"{100 + 10 * i}.00", signer) for i in range(4)]
    slow = signing.message_of(state, state.bidders["b1"], cmds[0])

    def verify(key: str, certificate: str, message: bytes, sig: str) -> bool:
        if message == slow:  # the first thread's first verification takes longest
            time.sleep(0.3)
        return signatures._p256_verify(key, certificate, message, sig)

    monkeypatch.setitem(signing.ALGORITHMS, signatures.ECDSA_P256, signing.Algorithm(
        signatures.ECDSA_P256, signatures._p256_check, signatures._remembered(verify)))
    verifier, done = Verifier(2), []

    async def command(i: int) -> None:
        await verifier.ahead(state, cmds[i])
        done.append(i)

    tasks = [asyncio.ensure_future(command(i)) for i in range(4)]
    await asyncio.sleep(0.1)  # handed over in two parts; the second part is done
    assert done == []  # held behind the first, still verifying
    tasks[2].cancel()  # a command given up while waiting holds nobody up
    try:
        await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), 5)
    finally:
        verifier.close()
    assert done == [0, 1, 3] and tasks[2].cancelled()
    assert verifier.made == 3 and all(signatures._AHEAD.values())


@pytest.mark.parametrize(("cpus", "threads"), [(1, 0), (2, 1), (3, 2), (16, 4)])
def test_by_default_the_threads_are_the_cpus_this_process_may_use_less_one_at_most_four(
        monkeypatch: pytest.MonkeyPatch, cpus: int, threads: int) -> None:
    monkeypatch.setattr(signatures.os, "sched_getaffinity", lambda pid: set(range(cpus)))
    assert signatures.usable_cpus() == cpus
    assert Verifier().threads == threads
    assert Verifier(3).threads == 3  # as set (verify_threads)
