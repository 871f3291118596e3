"""The client core (web.client.LotSession) without sockets: the messages it makes, the
state it folds from catch-ups and deltas, the order it checks, the replies it matches;
then the same core driven over a real socket by the asyncio client, resuming after a
dropped connection."""

from typing import Any

import pytest
from web_support import Server

from auction.deltas import diff
from web.client import LotClient, LotSession, ProtocolViolation, fold


def event(seq: int, kind: str = "BidAccepted") -> dict[str, Any]:
    return {"seq": seq, "type": kind, "at": 1000 + seq}


def state(seq: int, **fields: Any) -> dict[str, Any]:
    return {"seq": seq, "status": "open", "next_min": "2.00", "leader_no": None, **fields}


def live(old: dict[str, Any], new: dict[str, Any], *seqs: int) -> dict[str, Any]:
    changes, gone = diff(old, new)
    return {"type": "update", "lot_id": "L", "events": [event(s) for s in seqs],
            "delta": changes, "gone": gone}


def catch_up(new: dict[str, Any], *seqs: int) -> dict[str, Any]:
    return {"type": "update", "lot_id": "L", "events": [event(s) for s in seqs],
            "state": new}


def test_a_subscribe_resumes_after_the_last_event_seen_with_a_fresh_ref() -> None:
    s = LotSession("L", "tok", device="dev")
    first = s.subscribe()
    assert first == {"type": "subscribe", "lot_id": "L", "after_seq": 0, "token": "tok",
                     "device": "dev", "ref": first["ref"]}
    s.receive(catch_up(state(2), 1, 2))
    again = s.subscribe()
    assert again["after_seq"] == 2 and again["ref"] != first["ref"]


def test_a_session_without_resume_takes_the_first_state_as_it_comes() -> None:
    s = LotSession("L", resume=False, keep_events=False)
    assert "after_seq" not in s.subscribe()
    s.receive(catch_up(state(7), 6, 7))
    assert (s.last_seq, s.state["seq"], s.events) == (7, 7, [])
    s.receive(live(state(7), state(8, leader_no="3"), 8))
    assert s.state["leader_no"] == "3" and s.events == []


def test_live_updates_are_folded_into_the_state_and_their_events_kept_in_order() -> None:
    s = LotSession("L")
    s.subscribe()
    s.receive(catch_up(state(1), 1))
    s.receive(live(state(1), state(3, leader_no="7", next_min="3.00"), 2, 3))
    assert s.state == state(3, leader_no="7", next_min="3.00")
    assert [e["seq"] for e in s.events] == [1, 2, 3] and s.last_seq == 3


@pytest.mark.parametrize("seqs", [(3,), (1,), (2, 2)])
def test_a_gap_or_a_repeat_in_the_sequence_is_a_protocol_violation(seqs: tuple[int, ...]
                                                                    ) -> None:
    s = LotSession("L")
    s.receive(catch_up(state(1), 1))
    with pytest.raises(ProtocolViolation):
        s.receive(live(state(1), state(seqs[-1]), *seqs))


def test_a_delta_that_does_not_fit_the_state_is_a_protocol_violation() -> None:
    with pytest.raises(ProtocolViolation):
        fold(None, live(state(1), state(2), 2))
    with pytest.raises(ProtocolViolation):
        fold(state(1), {"type": "update", "events": [event(2)],
                        "delta": {"missing/deep/path": 1}})


def test_updates_of_other_lots_and_unasked_replies_are_ignored() -> None:
    s = LotSession("L")
    assert s.receive({"type": "update", "lot_id": "M", "events": [event(9)],
                      "state": state(9)}) is None
    assert s.receive({"type": "ack", "lot_id": "L", "ref": "nobody"}) is None
    assert s.last_seq == 0 and s.acked == []


def test_replies_are_matched_to_their_requests_by_ref_and_acks_kept() -> None:
    s = LotSession("L", "tok")
    sub = s.subscribe()
    reply = s.receive({"type": "subscribed", "lot_id": "L", "role": "bidder",
                       "bidder_no": "42", "ref": sub["ref"]})
    assert reply is not None and (s.role, s.bidder_no) == ("bidder", "42")
    bid = s.bid("2.00")
    act = s.act("proxy", "9.00")
    assert bid == {"type": "bid", "lot_id": "L", "amount": "2.00", "ref": bid["ref"]}
    assert act == {"type": "act", "lot_id": "L", "act": "proxy", "amount": "9.00",
                   "ref": act["ref"]}
    assert "amount" not in s.act("confirm")
    ack = {"type": "ack", "lot_id": "L", "ref": bid["ref"], "seq": 5}
    assert s.receive(ack) == ack and s.acked == [ack]
    assert s.receive(ack) is None  # answered once
    s.forget(act["ref"])
    assert s.receive({"type": "ack", "lot_id": "L", "ref": act["ref"]}) is None
    ping = s.ping(123)
    assert ping["client_time"] == 123
    assert s.receive({"type": "pong", "ref": ping["ref"], "server_time": 1}) is not None
    assert s.bid("3.00", ref="mine")["ref"] == "mine" and "mine" in s.pending


def test_leading_and_open_for_me_read_the_folded_state() -> None:
    s = LotSession("L")
    s.receive({"type": "subscribed", "lot_id": "L", "role": "bidder", "bidder_no": "7"})
    s.receive(catch_up(state(1, leader_no="7"), 1))
    assert s.leading() and not s.open_for_me()
    s.receive(live(state(1, leader_no="7"), state(2, leader_no="8"), 2))
    assert not s.leading() and s.open_for_me()


async def test_the_asyncio_client_resumes_after_a_dropped_connection_without_gaps(
        server: Server) -> None:
    lot_id, tokens = await server.open_lot()
    bidder, other = LotClient(server.ws_url, lot_id, tokens[0]), LotClient(
        server.ws_url, lot_id, tokens[1])
    try:
        await bidder.connect()
        await other.connect()
        await bidder.wait_for(lambda c: c.bidder_no is not None and c.state, 5)
        assert (await bidder.bid("100.00"))["type"] == "ack"
        await bidder.close()
        await other.wait_for(lambda c: c.state.get("leader_no") is not None, 5)
        assert (await other.bid(other.state["next_min"]))["type"] == "ack"
        await bidder.connect()  # resumes after its last event
        await bidder.wait_for(lambda c: c.last_seq == server.seq(lot_id), 5)
        seqs = [e["seq"] for e in bidder.events]
        assert seqs == list(range(seqs[0], server.seq(lot_id) + 1))
        assert not bidder.leading() and bidder.open_for_me() and other.leading()
        assert [a["amount"] for a in bidder.acked] == ["100.00"]
    finally:
        await bidder.close()
        await other.close()
