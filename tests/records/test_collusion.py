"""Collusion checks: each pattern planted in simulated lots (built through the rules) is
found with its evidence; seeded honest bidding raises nothing."""

from __future__ import annotations

import random
from dataclasses import replace

import pytest

from auction.collusion import DEFAULT, Flag, LotRecord, check_lot, check_lots

from .sim import T0, Company, SimLot, cny, honest_companies, honest_lot, params

HOUR = 3_600_000


def market(seed: int, lots: int = 8, companies: int = 12) -> list[SimLot]:
    rng = random.Random(seed)
    pool = honest_companies(rng, companies)
    return [honest_lot(rng, f"L-{i}", rng.sample(pool, rng.randint(3, 6)),
                       start=T0 + i * 2 * HOUR) for i in range(lots)]


def all_flags(lots: list[SimLot]) -> list[Flag]:
    records = [lot.record() for lot in lots]
    return [f for r in records for f in check_lot(r)] + check_lots(records)


def only(flags: list[Flag], check: str) -> Flag:
    found = [f for f in flags if f.check == check]
    assert len(found) == 1, [(f.check, f.message["en"]) for f in flags]
    return found[0]


def ids(flag: Flag) -> set[str]:
    return {b["bidder_id"] for b in flag.bidders}


def bid_seqs(lot: SimLot, bidder_id: str) -> list[int]:
    return [r.seq for r in lot.records
            if type(r.event).__name__ == "BidAccepted" and r.event.bidder_id == bidder_id]  # type: ignore[attr-defined]


# --------------------------------------------------------------------------- honest


@pytest.mark.parametrize("seed", range(6))
def test_honest_random_bidding_raises_no_flag(seed: int) -> None:
    lots = market(seed)
    assert sum(len(lot.s.bids) for lot in lots) > 150
    assert all(lot.s.status == "awarded" for lot in lots)
    assert all_flags(lots) == []


@pytest.mark.parametrize("seed", range(3))
def test_fast_honest_bidders_meeting_often_raise_no_flag(seed: int) -> None:
    rng = random.Random(1000 + seed)
    pool = honest_companies(rng, 6)
    for company in pool:
        company.think = (0.3, rng.uniform(1.0, 3.0))
    lots = [honest_lot(rng, f"L-{i}", rng.sample(pool, rng.randint(3, 5)),
                       start=T0 + i * 2 * HOUR) for i in range(12)]
    assert all_flags(lots) == []


# --------------------------------------------------------------------------- shared things


def _sharing(field: str) -> tuple[SimLot, list[Company]]:
    rng = random.Random(7)
    pool = honest_companies(rng, 5)
    setattr(pool[1], field, getattr(pool[0], field))
    return honest_lot(rng, "L-S", pool), pool


@pytest.mark.parametrize("field, check", [("ip", "shared_address"), ("device", "shared_device"),
                                          ("account", "shared_account")])
def test_bidders_sharing_an_address_device_or_account_are_flagged(field: str, check: str) -> None:
    lot, pool = _sharing(field)
    flag = only(check_lot(lot.record()), check)
    assert flag.scope == "lot" and flag.lots == ("L-S",)
    assert ids(flag) == {pool[0].bidder_id, pool[1].bidder_id}
    what = check.removeprefix("shared_")
    assert flag.evidence[what] == getattr(pool[0], field)
    uses = flag.evidence["uses"]
    if check == "shared_account":
        assert [u["how"] for u in uses[pool[0].bidder_id]] == ["deposit"]
        assert flag.level == "high" and "同一账户" in flag.message["zh"]
    else:
        bids = [u["seq"] for u in uses[pool[1].bidder_id] if u["how"] == "bid"]
        assert bids == bid_seqs(lot, pool[1].bidder_id)
        assert [u["how"] for u in uses[pool[1].bidder_id] if "seq" not in u] == ["join"]
    no = {b["bidder_id"]: b["bidder_no"] for b in flag.bidders}
    assert no[pool[0].bidder_id] in flag.message["en"] and no[pool[1].bidder_id] in \
        flag.message["en"]


def test_a_transfer_from_another_bidders_account_is_evidence_even_when_it_was_refused() -> None:
    rng = random.Random(11)
    pool = honest_companies(rng, 4)
    lot = honest_lot(rng, "L-P", pool)
    record = lot.record()
    # the bank reported a transfer for pool[2] from pool[0]'s account (flagged: foreign payer)
    payments = [(pool[2].bidder_id, pool[0].account, "T-9")]
    flag = only(check_lot(LotRecord(record.state, record.records, (), payments=payments)),
                "shared_account")
    assert ids(flag) == {pool[0].bidder_id, pool[2].bidder_id}
    assert flag.evidence["uses"][pool[2].bidder_id] == [
        {"lot_id": "L-P", "transaction_id": "T-9", "how": "bank"}]


def test_a_join_from_another_bidders_address_is_enough() -> None:
    rng = random.Random(8)
    pool = honest_companies(rng, 4)
    lot = honest_lot(rng, "L-J", pool)
    lot.join(pool[2].bidder_id, T0 + 5, pool[0].ip, "web:other")
    flag = only(check_lot(lot.record()), "shared_address")
    assert ids(flag) == {pool[0].bidder_id, pool[2].bidder_id}
    assert flag.evidence["uses"][pool[2].bidder_id][-1] == {
        "lot_id": "L-J", "at": T0 + 5, "how": "join"}


def test_blank_and_weak_fingerprints_and_public_or_staff_joins_are_not_compared() -> None:
    lot = SimLot("L-W").open()
    for bidder_id in "abc":
        lot.register(bidder_id)
    lot.bid("a", "1000000.00", T0 + 1000, ip="", device="ua:0123456789abcdef")
    lot.bid("b", "1010000.00", T0 + 9000, ip="", device="ua:0123456789abcdef")
    lot.bid("c", "1020000.00", T0 + 19000, ip=" ", device="web:unknown")
    lot.bid("a", "1030000.00", T0 + 29000, ip="1.1.1.1", device="web:unknown")
    record = lot.record()
    connections = [
        {"at": T0, "kind": "join", "role": "host", "staff_id": "h", "ip": "1.1.1.1",
         "device": "d"},
        {"at": T0, "kind": "join", "role": "bidder", "bidder_id": "b", "ip": None,
         "device": 5},
    ]
    assert check_lot(LotRecord(record.state, record.records, connections)) == []


def test_sharing_across_lots_is_flagged_once_and_not_within_one_lot() -> None:
    rng = random.Random(9)
    pool = honest_companies(rng, 6)
    first = honest_lot(rng, "L-A", pool[:3], start=T0)
    pool[3].ip = pool[0].ip
    pool[4].account = pool[1].account
    second = honest_lot(rng, "L-B", pool[3:], start=T0 + 2 * HOUR)
    assert check_lot(first.record()) == [] and check_lot(second.record()) == []
    flags = check_lots([first.record(), second.record()])
    address = only(flags, "shared_address")
    assert address.scope == "lots" and address.lots == ("L-A", "L-B")
    assert ids(address) == {pool[0].bidder_id, pool[3].bidder_id}
    assert {(b["lot_id"], b["bidder_id"]) for b in address.bidders} == {
        ("L-A", pool[0].bidder_id), ("L-B", pool[3].bidder_id)}
    account = only(flags, "shared_account")
    assert ids(account) == {pool[1].bidder_id, pool[4].bidder_id}
    same_lot, _ = _sharing("ip")
    assert [f.check for f in check_lots([same_lot.record()])] == []


@pytest.mark.parametrize("what", ["contact", "document"])
def test_applicants_sharing_a_contact_or_a_document_are_flagged_in_a_lot_and_across_lots(
        what: str) -> None:
    rng = random.Random(21)
    pool = honest_companies(rng, 6)
    first, second = honest_lot(rng, "L-A", pool[:3]), honest_lot(rng, "L-B", pool[3:])
    shared = "13800000000" if what == "contact" else "ab" * 32
    own = [f"own-{i}" for i in range(6)]

    def applicants(companies: list[Company], values: list[str]) -> list[dict[str, object]]:
        return [{"bidder_id": c.bidder_id, f"{what}s": [value, " "]}
                for c, value in zip(companies, values, strict=True)]

    in_lot = replace(first.record(), applicants=applicants(pool[:3], [shared, shared, own[2]]))
    flag = only(check_lot(in_lot), f"shared_{what}")
    assert ids(flag) == {pool[0].bidder_id, pool[1].bidder_id} and flag.level == "high"
    assert flag.evidence["uses"][pool[0].bidder_id] == [{"lot_id": "L-A", "how": "application"}]
    assert shared in flag.message["zh"] and shared in flag.message["en"]
    a = replace(first.record(), applicants=applicants(pool[:3], [shared, own[1], own[2]]))
    b = replace(second.record(), applicants=applicants(pool[3:], [own[3], shared, own[5]]))
    across = only(check_lots([a, b]), f"shared_{what}")
    assert across.scope == "lots" and ids(across) == {pool[0].bidder_id, pool[4].bidder_id}
    assert [f for f in check_lot(a) if f.check == f"shared_{what}"] == []


# --------------------------------------------------------------------------- bid patterns


def _duel(gaps: list[int], *, other_every: int = 0) -> SimLot:
    """``a`` bids, ``b`` follows ``gaps[i]`` ms later, ``a`` comes back seconds later;
    ``c`` bids now and then (every ``other_every``-th round)."""
    lot = SimLot("L-D", params(max_jump_steps=None))
    for bidder_id in "abc":
        lot.register(bidder_id)
    lot.open()
    price, now = cny("1000000.00"), T0 + 3000
    for i, gap in enumerate(gaps):
        lot.bid("a", price, now, ip="10.0.0.1")
        lot.bid("b", price + cny("10000.00"), now + gap, ip="10.0.0.2")
        price, now = price + cny("20000.00"), now + gap + 4000 + 1700 * (i % 3)
        if other_every and i % other_every == 0:
            lot.bid("c", price, now, ip="10.0.0.3")
            price, now = price + cny("10000.00"), now + 2500
    lot.close()
    return lot


def test_bids_following_each_other_in_lock_step_are_flagged() -> None:
    lot = _duel([230, 212, 251, 240, 219, 228], other_every=4)
    flag = only(check_lot(lot.record()), "lockstep")
    assert ids(flag) == {"a", "b"}
    e = flag.evidence
    assert (e["times"], e["follower_bids"], e["min_ms"], e["max_ms"]) == (6, 6, 212, 251)
    assert [p["gap_ms"] for p in e["pairs"]] == [230, 212, 251, 240, 219, 228]
    b_seqs = bid_seqs(lot, "b")
    assert [p["then_seq"] for p in e["pairs"]] == b_seqs
    assert "212–251" in flag.message["en"]


@pytest.mark.parametrize("gaps", [
    [230, 212, 251, 240],  # too few
    [230, 212, 251, 240, 219, 900],  # one person's pace, not a machine's
    [230, 212, 2500, 2600, 2700, 219],  # mostly outside the window
])
def test_irregular_or_rare_following_is_not_lock_step(gaps: list[int]) -> None:
    assert [f.check for f in check_lot(_duel(gaps).record())] == []


def test_a_follower_that_mostly_bids_at_its_own_pace_is_not_in_lock_step() -> None:
    lot2 = SimLot("L-D2", params(max_jump_steps=None))
    for bidder_id in "ab":
        lot2.register(bidder_id)
    lot2.open()
    # b follows a five times in lock-step, then seven times seconds later.
    price, now = cny("1000000.00"), T0 + 3000
    for i in range(12):
        lot2.bid("a", price, now)
        gap = 230 if i < 5 else 5000 + 100 * i
        lot2.bid("b", price + cny("10000.00"), now + gap)
        price, now = price + cny("20000.00"), now + gap + 6000
    assert [f.check for f in check_lot(lot2.record())] == []


def test_two_bidders_bidding_identical_amounts_are_flagged() -> None:
    lot = SimLot("L-I", params(improve="own"))
    for bidder_id in "abc":
        lot.register(bidder_id)
    lot.open()
    for i, amount in enumerate(["1000000.00", "1010000.00", "1030000.00"]):
        lot.bid("a", amount, T0 + 10_000 * i + 1000)
        lot.bid("b", amount, T0 + 10_000 * i + 6000)
    lot.bid("c", "1000000.00", T0 + 50_000)
    lot.bid("c", "1020000.00", T0 + 60_000)  # twice in a row: it follows no one
    flags = check_lot(lot.record())
    flag = only(flags, "identical_prices")
    assert ids(flag) == {"a", "b"} and flag.level == "high"
    assert flag.evidence["amounts"] == ["1000000.00", "1010000.00", "1030000.00"]
    nos = {b["bidder_id"]: b["bidder_no"] for b in flag.bidders}
    assert flag.evidence["seqs"][nos["a"]] == bid_seqs(lot, "a")
    assert [f.check for f in flags].count("identical_prices") == 1  # c shares only one


def _answers(jumps: list[int]) -> SimLot:
    """``b`` answers every bid of ``a`` with ``jumps[i]`` steps, seconds later."""
    lot = SimLot("L-G", params(max_jump_steps=None))
    for bidder_id in "ab":
        lot.register(bidder_id)
    lot.open()
    step, price, now = cny("10000.00"), cny("1000000.00"), T0 + 2000
    for i, jump in enumerate(jumps):
        lot.bid("a", price, now)
        price += jump * step
        lot.bid("b", price, now + 3000 + 1100 * (i % 4))
        price, now = price + step, now + 9000 + 700 * (i % 5)
    lot.close()
    return lot


def test_answering_a_rival_always_with_the_same_jump_is_flagged() -> None:
    lot = _answers([3, 3, 3, 3, 3])
    flag = only(check_lot(lot.record()), "fixed_gap")
    assert flag.scope == "lot" and ids(flag) == {"a", "b"}
    assert flag.evidence["gap"] == "30000.00" and flag.evidence["times"] == 5
    assert [p["then_seq"] for p in flag.evidence["pairs"]] == bid_seqs(lot, "b")
    assert "30000.00" in flag.message["zh"]


@pytest.mark.parametrize("jumps", [[1, 1, 1, 1, 1, 1], [3, 3, 3, 3], [3, 3, 2, 3, 3]])
def test_minimum_steps_few_answers_or_varied_jumps_are_not_fixed_gaps(jumps: list[int]) -> None:
    assert check_lot(_answers(jumps).record()) == []


def test_a_jump_that_is_not_most_of_the_followers_bids_is_not_a_fixed_gap() -> None:
    lot = SimLot("L-G2", params(max_jump_steps=None))
    for bidder_id in "abc":
        lot.register(bidder_id)
    lot.open()
    step, price, now = cny("10000.00"), cny("1000000.00"), T0 + 2000
    for i in range(12):
        lot.bid("a" if i < 5 else "c", price, now)
        price += (3 if i < 5 else 1) * step
        lot.bid("b", price, now + 3000 + 1100 * (i % 4))
        price, now = price + step, now + 9000 + 700 * (i % 5)
    assert [f.check for f in check_lot(lot.record())] == []


# --------------------------------------------------------------------------- across lots


def _final_prices(pairs: list[tuple[str, str, str]]) -> list[SimLot]:
    """Lots where ``a`` and then ``b`` bid: (start, a's last price, b's price)."""
    lots = []
    for i, (start, a_price, b_price) in enumerate(pairs):
        lot = SimLot(f"L-F{i}", params(start_price=start, max_jump_steps=None))
        lot.register("a")
        lot.register("b")
        lot.open()
        lot.bid("a", start, T0 + 500)
        lot.bid("b", cny(start) + cny("10000.00"), T0 + 700)
        lot.bid("a", a_price, T0 + 1000)
        lot.bid("b", b_price, T0 + 60_000)
        lot.close()
        lots.append(lot)
    return lots


def test_final_prices_with_the_same_difference_across_lots_are_flagged() -> None:
    lots = _final_prices([("1000000.00", "1020000.00", "1070000.00"),
                          ("1500000.00", "1600000.00", "1650000.00"),
                          ("800000.00", "850000.00", "900000.00")])
    flag = only(check_lots([lot.record() for lot in lots]), "fixed_gap")
    assert flag.scope == "lots" and flag.lots == ("L-F0", "L-F1", "L-F2")
    assert flag.evidence["bidder_ids"] == ["a", "b"] and flag.evidence["same"] == "difference"
    first = flag.evidence["final_prices"][0]
    assert set(first.values()) == {"L-F0", "1020000.00", "1070000.00"}


def test_final_prices_in_the_same_ratio_across_lots_are_flagged() -> None:
    lots = _final_prices([("1000000.00", "1100000.00", "1210000.00"),
                          ("1900000.00", "2000000.00", "2200000.00"),
                          ("1400000.00", "1500000.00", "1650000.00")])
    flag = only(check_lots([lot.record() for lot in lots]), "fixed_gap")
    assert flag.evidence["same"] == "ratio" and flag.evidence["ratio"] == "1.100000"


@pytest.mark.parametrize("pairs", [
    [("1000000.00", "1020000.00", "1030000.00"), ("1500000.00", "1600000.00", "1610000.00"),
     ("800000.00", "850000.00", "860000.00")],  # one step: how english bidding ends
    [("1000000.00", "1020000.00", "1070000.00"), ("1500000.00", "1600000.00", "1650000.00")],
    [("1000000.00", "1020000.00", "1070000.00"), ("1500000.00", "1600000.00", "1660000.00"),
     ("800000.00", "850000.00", "900000.00")],
])
def test_one_step_differences_two_lots_or_irregular_gaps_are_not_flagged(
        pairs: list[tuple[str, str, str]]) -> None:
    lots = _final_prices(pairs)
    assert [f.check for f in check_lots([lot.record() for lot in lots])] == []


def test_a_bidder_who_never_bids_seriously_across_lots_is_flagged_as_cover() -> None:
    rng = random.Random(11)
    pool = honest_companies(rng, 8)
    cover, quiet = Company("cover-1", "10.9.9.1", "web:c1", "6222-c1", (1, 2)), \
        Company("quiet-1", "10.9.9.2", "web:c2", "6222-c2", (1, 2))
    lots = [honest_lot(rng, f"L-C{i}", rng.sample(pool, 3), start=T0 + i * 2 * HOUR,
                       covers=(cover, quiet) if i != 1 else (quiet,)) for i in range(3)]
    failed = SimLot("L-FAILED")  # no winner: nobody covered for anyone there
    failed.register(cover.bidder_id)
    failed.open().close()
    flags = check_lots([lot.record() for lot in [*lots, failed]])
    covers = {f.evidence["bidder_id"]: f for f in flags if f.check == "cover_bidding"}
    assert set(covers) == {"cover-1", "quiet-1"}, [f.message["en"] for f in flags]
    flag = covers["cover-1"]
    assert flag.lots == ("L-C0", "L-C2") and flag.evidence["lots_entered"] == 2
    assert flag.evidence["lots_won"] == 0
    first = flag.evidence["cover_lots"][0]
    assert first["bids"] == 1 and first["amounts"] == ["1000000.00"]
    assert first["seqs"] == bid_seqs(lots[0], "cover-1")
    assert covers["quiet-1"].lots == ("L-C0", "L-C1", "L-C2")
    assert [c["bids"] for c in covers["quiet-1"].evidence["cover_lots"]] == [0, 1, 0]


def test_a_single_bid_near_the_winning_price_is_serious() -> None:
    lots = []
    for i in range(3):
        lot = SimLot(f"L-N{i}", params(max_jump_steps=None))
        for bidder_id in "ab":
            lot.register(bidder_id)
        lot.open()
        lot.bid("a", "1000000.00", T0 + 1000)  # one bid, one step below the winning price
        lot.bid("b", "1010000.00", T0 + 5000)
        lot.close()
        lots.append(lot)
    assert check_lots([lot.record() for lot in lots]) == []


def _ring(winners: list[str], *, outsider_wins: int | None = None) -> list[SimLot]:
    """Lots entered by the ring r1, r2, r3 and an outsider o: in lot i ``winners[i]``
    wins, the other members bid once at the start price or not at all; o bids twice
    early and gives up (or wins lot ``outsider_wins``)."""
    lots = []
    for i, winner in enumerate(winners):
        lot = SimLot(f"L-R{i}", params(max_jump_steps=None, closes_at=T0 + i * 2 * HOUR + HOUR),
                     at=T0 + i * 2 * HOUR - 60_000)
        for bidder_id in ("r1", "r2", "r3", "o"):
            lot.register(bidder_id, at=T0 + i * 2 * HOUR - 30_000)
        start = T0 + i * 2 * HOUR
        lot.open(start)
        covers = [m for m in ("r1", "r2", "r3") if m != winner]
        lot.bid(covers[0], "1000000.00", start + 1000)
        lot.bid("o", "1010000.00", start + 30_000)
        lot.bid(winner, "1020000.00", start + 60_000)
        lot.bid("o", "1030000.00", start + 90_000)
        lot.bid(winner, "1040000.00", start + 120_000)
        if outsider_wins == i:
            lot.bid("o", "1100000.00", start + 150_000)
        lot.close()
        lots.append(lot)
    return lots


def test_a_ring_taking_turns_to_win_is_flagged() -> None:
    lots = _ring(["r1", "r2", "r3"])
    flags = check_lots([lot.record() for lot in lots])
    flag = only(flags, "winner_rotation")
    assert flag.level == "high" and flag.evidence["group"] == ["r1", "r2", "r3"]
    assert flag.lots == ("L-R0", "L-R1", "L-R2")
    assert [w["winner"] for w in flag.evidence["winners"]] == ["r1", "r2", "r3"]
    assert flag.evidence["winners"][0]["price"] == "1040000.00"
    assert {f.evidence["bidder_id"] for f in flags if f.check == "cover_bidding"} == {
        "r1", "r2", "r3"}
    assert "took turns winning the 3 lots" in flag.message["en"]


def test_a_pair_of_the_ring_is_not_reported_beside_the_ring() -> None:
    lots = _ring(["r1", "r2", "r3", "r1"])
    rotations = [f for f in check_lots([lot.record() for lot in lots])
                 if f.check == "winner_rotation"]
    assert [f.evidence["group"] for f in rotations] == [["r1", "r2", "r3"]]


@pytest.mark.parametrize("winners, outsider", [
    (["r1", "r2", "r3"], 2),  # an outsider won one of the lots
    (["r1", "r1", "r2"], None),  # r3 never won: not a rotation of the three
    (["r1", "r2"], None),  # too few lots
])
def test_no_rotation_without_every_shared_lot_won_in_turn(winners: list[str],
                                                          outsider: int | None) -> None:
    lots = _ring(winners, outsider_wins=outsider)
    flags = check_lots([lot.record() for lot in lots])
    assert "winner_rotation" not in [f.check for f in flags if len(f.evidence.get(
        "group", [])) == 3]
    if outsider is None and len(winners) == 3:
        pair = only(flags, "winner_rotation")  # r1 and r2 did take turns, r3 covering
        assert pair.evidence["group"] == ["r1", "r2"]


def test_rotation_needs_the_losers_to_cover() -> None:
    serious = []  # the same turns, but the losers compete before giving up
    for i, winner in enumerate(["r1", "r2", "r3"]):
        lot = SimLot(f"L-S{i}", params(max_jump_steps=None))
        for bidder_id in ("r1", "r2", "r3"):
            lot.register(bidder_id)
        lot.open()
        price = cny("1000000.00")
        order = [m for m in ("r1", "r2", "r3") if m != winner] * 2 + [winner]
        for k, bidder in enumerate(order):
            lot.bid(bidder, price, T0 + 5000 * (k + 1))
            price += cny("10000.00")
        lot.close()
        serious.append(lot)
    assert check_lots([lot.record() for lot in serious]) == []


def test_many_winners_are_checked_in_pairs_only() -> None:
    lots = []
    for i in range(31):
        lot = SimLot(f"L-M{i}")
        lot.register(f"w{i}")
        lot.open()
        lot.bid(f"w{i}", "1000000.00", T0 + 10)
        lot.close()
        lots.append(lot)
    assert check_lots([lot.record() for lot in lots]) == []


def test_flags_are_plain_data() -> None:
    lot = _duel([230, 212, 251, 240, 219, 228])
    data = only(check_lot(lot.record()), "lockstep").to_dict()
    assert data["check"] == "lockstep" and data["scope"] == "lot" and data["lots"] == ["L-D"]
    assert data["bidders"][0]["lot_id"] == "L-D"
    assert set(data["message"]) == {"zh", "en"}


def test_thresholds_can_be_tightened() -> None:
    lot = _duel([230, 212, 251, 240, 219, 228])
    strict = replace(DEFAULT, lockstep_min=7)
    assert check_lot(lot.record(), strict) == []
    assert check_lots([lot.record()], strict) == []

