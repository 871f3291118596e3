"""Snapshots of a lot's state (engine/snapshots.py): for every format, through the rules'
own state machines (Hypothesis), the state after each step encodes and decodes to an
equal state with the same shared objects, and folding the events after an earlier
snapshot onto it gives the same state as replaying every event from genesis."""

from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, settings
from hypothesis.stateful import invariant
from rules.test_state_machine import LotMachine
from rules.test_state_machine_clock import ClockMachine, JapaneseMachine
from rules.test_state_machine_listing_timed import ListingMachine
from rules.test_state_machine_multi_round import RoundsMachine
from rules.test_state_machine_proxy import ProxyMachine
from rules.test_state_machine_sealed import SealedMachine

from auction.lot import evolve, replay
from auction.state import LotState
from engine.pipeline import clone
from engine.snapshots import SnapshotError, decode_state, encode_state

#: A snapshot is taken every this many events in these tests (small, so that a run has
#: several and a tail after each).
EVERY = 3


def assert_same_objects(restored: LotState, state: LotState) -> None:
    """A bid in a bidder's list is the very object of the lot's list, as in the state."""
    for bidder_id, bidder in state.bidders.items():
        twin = restored.bidders[bidder_id]
        for mine, theirs in zip(bidder.own, twin.own, strict=True):
            assert any(mine is bid for bid in state.bids) == any(
                theirs is bid for bid in restored.bids)


class Snapshotted:
    """Mixed into a state machine of the rules: checks snapshots after every step."""

    state: LotState | None
    events: list[Any]
    snap: tuple[int, str] | None = None

    @invariant()
    def a_snapshot_restores_the_state_exactly(self) -> None:
        if self.state is None:
            return
        text = encode_state(self.state)
        restored = decode_state(text)
        assert restored == self.state
        assert encode_state(restored) == text
        assert_same_objects(restored, self.state)
        # Evolving the restored state must not touch the live one (nothing shared).
        assert restored is not self.state and restored.bids is not self.state.bids

    @invariant()
    def the_tail_folded_on_a_snapshot_equals_the_replay_from_genesis(self) -> None:
        if self.state is None:
            return
        count = len(self.events)
        if self.snap is None or count // EVERY > self.snap[0] // EVERY:
            if self.snap is not None:
                at, text = self.snap
                state: LotState | None = decode_state(text)
                for event in self.events[at:]:
                    state = evolve(state, event)
                assert state == replay(self.events) == self.state
            self.snap = (count, encode_state(self.state))


class Cloned:
    """Mixed into a state machine of the rules: the copy the pipeline decides ahead on
    (:func:`engine.pipeline.clone`, which shares the bidders until the rules change one)
    evolves exactly as the state did, and leaves the state it was copied from as it was."""

    state: LotState | None
    events: list[Any]
    before: tuple[int, str] | None = None

    @invariant()
    def a_clone_evolves_alike_and_leaves_its_original_untouched(self) -> None:
        if self.state is None:
            return
        if self.before is not None:
            at, text = self.before
            original = decode_state(text)
            twin = clone(original)
            for event in self.events[at:]:
                twin = evolve(twin, event)
            assert twin == self.state
            assert encode_state(original) == text
        self.before = (len(self.events), encode_state(self.state))


SETTINGS = settings(max_examples=25, stateful_step_count=30, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])


def machine(base: type) -> Any:
    cls = type(f"Snapshotted{base.__name__}", (Snapshotted, Cloned, base), {})
    case = cls.TestCase
    case.settings = SETTINGS
    return case


TestEnglishSnapshots = machine(LotMachine)
TestProxySnapshots = machine(ProxyMachine)
TestSealedSnapshots = machine(SealedMachine)
TestListingTimedSnapshots = machine(ListingMachine)
TestMultiRoundSnapshots = machine(RoundsMachine)
TestDutchSnapshots = machine(ClockMachine)
TestJapaneseSnapshots = machine(JapaneseMachine)


@pytest.mark.parametrize("text", [
    "", "[]", "[2, null]", '[1, ["C", "os:system", {}]]', '[1, ["C", "auction.state:ENDED", {}]]',
    '[1, ["L"]]', '[1, ["Q", 1]]', '[1, ["C", "auction.state:LotState", {}]]', "[1, 1.5]"])
def test_a_text_that_is_not_a_snapshot_of_this_version_is_refused_as_snapshot_error(
        text: str) -> None:
    with pytest.raises(SnapshotError):
        decode_state(text)


def test_a_value_the_snapshot_cannot_keep_is_refused_as_snapshot_error() -> None:
    with pytest.raises(SnapshotError):
        encode_state(object())  # type: ignore[arg-type]
    with pytest.raises(SnapshotError):
        encode_state({"x": 1.5})  # type: ignore[arg-type]


def test_only_values_that_come_back_as_they_were_are_kept() -> None:
    import enum

    class Kind(enum.IntEnum):
        A = 1

    class Tag(enum.StrEnum):
        B = "b"

    class Items(list[int]):
        pass

    for value in (Kind.A, Items([1]), {"x": (1, 2.5)}):  # an IntEnum would come back an int
        with pytest.raises(SnapshotError, match="cannot keep a"):
            encode_state({"x": value})  # type: ignore[arg-type]
    # Text is kept as text, whatever its class; integers beyond 64 bits are kept as text.
    text = encode_state({"x": Tag.B, 2**70: {frozenset({3, 1})}})  # type: ignore[arg-type]
    assert orjson.loads(text) == [1, ["D", "x", "b", ["I", str(2**70)], ["S", ["F", 1, 3]]]]
