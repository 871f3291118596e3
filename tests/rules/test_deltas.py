"""Deltas between snapshots (auction/deltas.py): applied in order they always give the
audience's snapshot, for random lots of every format, and carry nothing that snapshot
does not (invariant 6)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import invariant

from auction.deltas import DeltaError, apply, diff
from auction.views import BIDDER, PUBLIC, STAFF, audience_key, snapshot
from tests.rules.test_state_machine import LotMachine
from tests.rules.test_state_machine_clock import ClockMachine, JapaneseMachine
from tests.rules.test_state_machine_listing_timed import ListingMachine
from tests.rules.test_state_machine_multi_round import RoundsMachine
from tests.rules.test_state_machine_proxy import ProxyMachine
from tests.rules.test_state_machine_sealed import SealedMachine


def wire(value: Any) -> Any:
    """``value`` as a client decodes it."""
    return json.loads(json.dumps(value, ensure_ascii=False))


def text(value: Any) -> str:
    """A canonical JSON text of ``value``: equal texts, equal JSON values."""
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


def at(snapshot_: Any, path: str) -> Any:
    """The value at ``path`` (as deltas write paths) in ``snapshot_``."""
    value = snapshot_
    for part in path.split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        value = value[int(part)] if isinstance(value, list) else value[part]
    return value


def folds(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """Apply the delta from ``old`` to ``new``, sent over the wire, to a decoded ``old``;
    check the result is ``new`` and return it."""
    changes, gone = diff(old, new)
    sent = wire({"delta": changes, "gone": gone})
    folded = apply(wire(old), sent["delta"], sent["gone"])
    assert text(folded) == text(new)
    return folded


# ---------------------------------------------------------------------- examples


def test_a_delta_names_only_what_changed() -> None:
    old = {"seq": 41, "best": "100.00", "params": {"step": "1.00"}, "outcome": None}
    new = {"seq": 42, "best": "110.00", "params": {"step": "1.00"}, "outcome": None}
    assert diff(old, new) == ({"seq": 42, "best": "110.00"}, [])
    assert diff(new, new) == ({}, [])


def test_nested_changes_are_named_by_their_path_and_lists_that_grow_are_appended() -> None:
    old = {"you": {"bids": 1, "own_bids": [{"seq": 3}]}, "register": [{"last_bid": None}]}
    new = {"you": {"bids": 2, "own_bids": [{"seq": 3}, {"seq": 9}]},
           "register": [{"last_bid": "5.00"}]}
    changes, gone = diff(old, new)
    assert changes == {"you/bids": 2, "you/own_bids/1": {"seq": 9},
                       "register/0/last_bid": "5.00"}
    assert gone == []
    folds(old, new)


def test_a_removed_key_is_listed_as_gone_and_a_shorter_list_is_sent_whole() -> None:
    old = {"play": {"turn_no": "4821", "order": ["1", "2", "3"]}, "extra": {"a": 1}}
    new = {"play": {"order": ["2"]}}
    changes, gone = diff(old, new)
    assert changes == {"play/order": ["2"]}
    assert gone == ["play/turn_no", "extra"]
    folds(old, new)


def test_keys_holding_a_slash_or_a_tilde_are_escaped() -> None:
    old = {"a/b": {"~": 1}, "x": [1, {"k/": None}]}
    new = {"a/b": {"~": 2}, "x": [1, {"k/": True}], "~1": "kept apart from '/'"}
    changes, _ = diff(old, new)
    assert set(changes) == {"a~1b/~0", "x/1/k~1", "~01"}
    folds(old, new)


def test_one_true_and_one_point_zero_are_different_values() -> None:
    for before, after in ((1, True), (0, False), (1, 1.0), (None, {}), ([], {}), ({}, [])):
        assert diff({"v": before}, {"v": after}) == ({"v": after}, [])


def test_applying_a_delta_leaves_the_state_it_was_given_as_it_was() -> None:
    old = {"a": {"b": [1, 2]}, "c": {"d": 1}}
    kept = wire(old)
    new = apply(old, {"a/b/0": 5, "a/b/2": 3}, ["c/d"])
    assert new == {"a": {"b": [5, 2, 3]}, "c": {}}
    assert old == kept


@pytest.mark.parametrize(("changes", "gone"), [
    ({"missing/x": 1}, []),  # no such key on the way
    ({"seq/x": 1}, []),  # a number holds nothing
    ({"list/3": 1}, []),  # beyond the end (2 is the end: an append)
    ({"list/x": 1}, []),  # not an index
    ({"list/٣": 1}, []),  # not an ASCII index
    ({"list/5/x": 1}, []),  # no such item on the way
    ({}, ["nothing"]),  # nothing to remove
    ({}, ["list/0"]),  # items are not removed, lists are sent whole
])
def test_a_delta_that_does_not_fit_the_state_is_refused(changes: dict[str, Any],
                                                        gone: list[str]) -> None:
    state = {"seq": 1, "list": [1, 2]}
    with pytest.raises(DeltaError):
        apply(state, changes, gone)
    assert state == {"seq": 1, "list": [1, 2]}


JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 3) | st.sampled_from(["", "a", "1.00"]),
    lambda inner: st.lists(inner, max_size=4)
    | st.dictionaries(st.sampled_from(["a", "b", "c/d", "~e", "0"]), inner, max_size=4),
    max_leaves=20)
OBJECTS = st.dictionaries(st.sampled_from(["seq", "best", "play", "you", "a/b", "~"]), JSON,
                          max_size=6)


@given(old=OBJECTS, new=OBJECTS)
@settings(max_examples=500, deadline=None)
def test_any_object_folds_into_any_other(old: dict[str, Any], new: dict[str, Any]) -> None:
    folds(old, new)
    changes, _ = diff(old, new)
    for path, value in changes.items():
        assert text(at(new, path)) == text(value)


# ------------------------------------------------------------- lots of every format


class FoldsDeltas:
    """After every step of a lot's state machine, for each audience (the public, staff
    and every registered bidder): the delta from the snapshot it last got to its snapshot
    now, applied to what a client decoded, gives that snapshot exactly; and every value
    in the delta is the snapshot's own at that path."""

    state: Any

    @invariant()
    def folding_the_deltas_gives_each_audience_its_snapshot(self) -> None:
        state = self.state
        if state is None:
            return
        held: dict[str, tuple[dict[str, Any], dict[str, Any]]] = \
            self.__dict__.setdefault("_held_views", {})
        audiences = [(PUBLIC, None), (STAFF, None),
                     *((BIDDER, bidder_id) for bidder_id in state.bidders)]
        for audience, bidder_id in audiences:
            key = audience_key(state, audience, bidder_id)
            view = snapshot(state, audience, bidder_id)
            if key in held:
                last, client = held[key]  # as the hub keeps it / as the client holds it
                changes, gone = diff(last, view)
                sent = wire({"delta": changes, "gone": gone})
                client = apply(client, sent["delta"], sent["gone"])
                assert text(client) == text(view), (key, changes, gone)
                for path, value in changes.items():
                    assert text(at(view, path)) == text(value)
            else:
                client = wire(view)
            held[key] = (view, client)


DELTA_SETTINGS = settings(
    max_examples=40, stateful_step_count=30, deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink])


class EnglishDeltas(FoldsDeltas, LotMachine):
    pass


class ProxyDeltas(FoldsDeltas, ProxyMachine):
    pass


class DutchDeltas(FoldsDeltas, ClockMachine):
    pass


class JapaneseDeltas(FoldsDeltas, JapaneseMachine):
    pass


class ListingDeltas(FoldsDeltas, ListingMachine):
    pass


class SealedDeltas(FoldsDeltas, SealedMachine):
    pass


class RoundsDeltas(FoldsDeltas, RoundsMachine):
    pass


TestEnglishLotsFoldTheirDeltasIntoEverySnapshot = EnglishDeltas.TestCase
TestProxyLotsFoldTheirDeltasIntoEverySnapshot = ProxyDeltas.TestCase
TestDutchLotsFoldTheirDeltasIntoEverySnapshot = DutchDeltas.TestCase
TestJapaneseLotsFoldTheirDeltasIntoEverySnapshot = JapaneseDeltas.TestCase
TestListingTimedLotsFoldTheirDeltasIntoEverySnapshot = ListingDeltas.TestCase
TestSealedLotsFoldTheirDeltasIntoEverySnapshot = SealedDeltas.TestCase
TestMultiRoundLotsFoldTheirDeltasIntoEverySnapshot = RoundsDeltas.TestCase
for _case in (TestEnglishLotsFoldTheirDeltasIntoEverySnapshot,
              TestProxyLotsFoldTheirDeltasIntoEverySnapshot,
              TestDutchLotsFoldTheirDeltasIntoEverySnapshot,
              TestJapaneseLotsFoldTheirDeltasIntoEverySnapshot,
              TestListingTimedLotsFoldTheirDeltasIntoEverySnapshot,
              TestSealedLotsFoldTheirDeltasIntoEverySnapshot,
              TestMultiRoundLotsFoldTheirDeltasIntoEverySnapshot):
    _case.settings = DELTA_SETTINGS
