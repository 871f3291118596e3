"""A winner's default: its deposit forfeited, the lot to the runner-up at its own last
price or relisted as a new lot linked to this one with an attempt counter; the record of
all of it verifies (``auction verify`` decides each event again)."""

from dataclasses import replace

from records.sim import HOST, T0, SimLot, cny, params

from auction.default import (
    AwardChanged,
    AwardedToRunnerUp,
    ChangeAward,
    DeclareDefault,
    LinkRelisting,
    LotRelisted,
    RelistedFrom,
    WinnerDefaulted,
)
from auction.deposits import deposit_status
from auction.lot import decide
from auction.model import DepositForfeited, ForfeitDeposit, Rejection
from auction.verify import build_export, dumps, verify

AFTER = T0 + 3_700_000
DEFAULT = DeclareDefault(actor=HOST, reason="逾期未签署成交确认书", then="runner_up")


FORWARD = ("1000000.00", "1010000.00", "1020000.00")


def awarded(prices: tuple[str, str, str] = FORWARD, **overrides: object) -> SimLot:
    """a, b and c bid ``prices`` in turn: c wins, b is the runner-up."""
    lot = SimLot("L-1", params(**overrides))
    for bidder in "abc":
        lot.register(bidder)
    lot.open()
    for i, (bidder, price) in enumerate(zip("abc", prices, strict=True)):
        lot.bid(bidder, price, T0 + 1000 * (i + 1))
    lot.close()
    assert lot.s.outcome is not None and lot.s.outcome.bidder_id == "c"
    return lot


def refusal(lot: SimLot, command: object, at: int = AFTER) -> str:
    decision = decide(lot.s, command, at)  # type: ignore[arg-type]
    assert isinstance(decision, Rejection), decision
    return decision.code


def verifies(lot: SimLot) -> None:
    result = verify(dumps(build_export(lot.s, lot.records, AFTER + 10_000)))
    assert result.ok, result.summary


def test_a_default_forfeits_the_deposit_and_the_runner_up_gets_the_lot_at_its_own_price(
        ) -> None:
    lot = awarded()
    events = lot.do(DEFAULT, AFTER)
    assert [type(e) for e in events] == [WinnerDefaulted, DepositForfeited, AwardedToRunnerUp]
    assert lot.s.status == "awarded" and lot.s.outcome is not None
    assert (lot.s.outcome.bidder_id, lot.s.outcome.amount) == ("b", cny("1010000.00"))
    assert deposit_status(lot.s, lot.s.bidders["c"]) == "forfeited"
    assert deposit_status(lot.s, lot.s.bidders["b"]) == "confirmed"  # the new winner's
    assert deposit_status(lot.s, lot.s.bidders["a"]) == "refundable"
    # b defaults too: a is next; then nobody is left
    lot.do(DEFAULT, AFTER + 1000)
    assert lot.s.outcome.bidder_id == "a"  # type: ignore[union-attr]
    assert refusal(lot, DEFAULT, AFTER + 2000) == "no_runner_up"
    verifies(lot)


def test_a_default_relists_the_lot_with_an_attempt_counter_and_a_lower_start_price() -> None:
    lot = awarded(reserve="900000.00")
    relist = replace(DEFAULT, then="relist", new_lot_id="L-2", start_price=cny("950000.00"))
    events = lot.do(relist, AFTER)
    assert isinstance(events[-1], LotRelisted)
    assert (events[-1].new_lot_id, events[-1].attempt) == ("L-2", 2)
    assert lot.s.status == "failed" and lot.s.relisted_as == "L-2"
    assert lot.s.outcome is not None and lot.s.outcome.reason == "relisted as L-2"
    assert deposit_status(lot.s, lot.s.bidders["b"]) == "refundable"
    verifies(lot)

    new = SimLot("L-2", params(start_price="950000.00", closes_at=T0 + 20_000_000),
                 title="国有建设用地使用权 A-1（第2次）", at=AFTER + 1000)
    [linked] = new.do(LinkRelisting(actor=HOST, prev_lot_id="L-1", attempt=2), AFTER + 2000)
    assert isinstance(linked, RelistedFrom)
    assert (new.s.relist_of, new.s.attempt) == ("L-1", 2)
    assert refusal(new, LinkRelisting(actor=HOST, prev_lot_id="L-1", attempt=3)) == (
        "invalid_state")
    verifies(new)
    # the relisted lot defaults in turn: its relisting is attempt 3
    for bidder in "ab":
        new.register(bidder, at=AFTER + 3000)
    new.open(T0 + 10_000_000)
    new.bid("a", "950000.00", T0 + 10_001_000)
    new.close()
    assert new.s.closes_at is not None
    again = new.do(replace(relist, new_lot_id="L-3", start_price=cny("900000.00")),
                   new.s.closes_at + 100_000)
    assert isinstance(again[-1], LotRelisted) and again[-1].attempt == 3


def test_a_relisted_start_price_must_stay_within_the_lot_s_rules() -> None:
    lot = awarded(reserve="900000.00")
    relist = replace(DEFAULT, then="relist", new_lot_id="L-2")
    for start in ("1000000.01", "899999.99"):  # above the old start, below the reserve
        assert refusal(lot, replace(relist, start_price=cny(start))) == "invalid_params"
    assert refusal(lot, replace(relist, start_price=0)) == "invalid_params"
    assert refusal(lot, replace(relist, new_lot_id="", start_price=cny("950000.00"))) == (
        "invalid_params")
    assert refusal(lot, replace(relist, new_lot_id="L-1", start_price=cny("950000.00"))) == (
        "invalid_params")
    assert refusal(lot, replace(DEFAULT, then="auction")) == "invalid_params"
    reverse = awarded(("1050000.00", "1040000.00", "1030000.00"), direction="reverse",
                      start_price="1100000.00", ceiling="1100000.00")
    assert reverse.s.outcome is not None and reverse.s.outcome.bidder_id == "c"
    lower = replace(relist, start_price=cny("1000000.00"))
    assert refusal(reverse, lower) == "invalid_params"  # a reverse lot's may only rise
    assert refusal(reverse, replace(relist, start_price=cny("1100000.01"))) == "invalid_params"
    assert isinstance(decide(reverse.s, replace(relist, start_price=cny("1100000.00")),
                             AFTER), list)


def test_only_an_awarded_lot_defaults_with_a_reason_and_a_settled_deposit_stays() -> None:
    lot = awarded()
    assert refusal(lot, replace(DEFAULT, reason=" ")) == "reason_required"
    assert refusal(lot, replace(DEFAULT, reason="长" * 501)) == "invalid_params"
    failed = SimLot("L-F").open()
    failed.close()
    assert refusal(failed, DEFAULT) == "invalid_state"
    lot.do(ForfeitDeposit(bidder_id="c", actor=HOST, reason="先行没收"), AFTER)
    events = lot.do(DEFAULT, AFTER + 1)
    assert [type(e) for e in events] == [WinnerDefaulted, AwardedToRunnerUp]
    verifies(lot)


def test_a_link_needs_a_draft_lot_another_lot_and_an_attempt_from_two() -> None:
    lot = SimLot("L-2")
    link = LinkRelisting(actor=HOST, prev_lot_id="L-1", attempt=2)
    assert refusal(lot, replace(link, attempt=1)) == "invalid_params"
    assert refusal(lot, replace(link, prev_lot_id="L-2")) == "invalid_params"
    assert refusal(lot, replace(link, prev_lot_id="")) == "invalid_params"
    opened = awarded()
    assert refusal(opened, link) == "invalid_state"


def test_an_upheld_objection_suspends_the_award_then_reinstates_or_annuls_it() -> None:
    lot = awarded()
    suspend = ChangeAward(actor=HOST, reason="异议成立，暂停成交", effect="suspended")
    [changed] = lot.do(suspend, AFTER)
    assert isinstance(changed, AwardChanged) and lot.s.award_suspended
    assert refusal(lot, DEFAULT) == "invalid_state"  # no default while suspended
    assert refusal(lot, suspend) == "invalid_state"
    lot.do(replace(suspend, effect="reinstated", reason="复核维持"), AFTER + 1)
    assert not lot.s.award_suspended and lot.s.status == "awarded"
    assert refusal(lot, replace(suspend, effect="reinstated")) == "invalid_state"
    assert refusal(lot, replace(suspend, reason="")) == "reason_required"
    assert refusal(lot, replace(suspend, reason="长" * 501)) == "invalid_params"
    lot.do(replace(suspend, effect="annulled", reason="异议成立，撤销成交"), AFTER + 2)
    assert lot.s.status == "failed" and lot.s.outcome is not None
    assert lot.s.outcome.reason == "award annulled: 异议成立，撤销成交"
    assert deposit_status(lot.s, lot.s.bidders["c"]) == "refundable"
    assert refusal(lot, suspend) == "invalid_state"
    verifies(lot)
