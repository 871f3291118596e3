"""Collusion checks (围标串标) for supervisors, on the event record of one lot or of many.

Pure: the input is each lot's state, its records and (optionally) the web layer's log of
bidder connections; the output is a list of :class:`Flag` s, each naming the check, the
bidders (bidder id, number and name in each lot), the lots, and its evidence (the
sequence numbers of the bids concerned, addresses, intervals, amounts). A flag is an
indicator for a person to review, never a verdict. The thresholds are the fields of
:class:`Thresholds`; docs/records.md explains each check and why its defaults are what
they are.

Per lot (:func:`check_lot`):

* ``shared_address`` / ``shared_device`` / ``shared_account``: two or more bidders bid or
  connected from one network address, or one client fingerprint, or paid their deposits
  from one account (招标投标法实施条例 第四十条: deposits from one account are deemed
  collusion), a confirmed deposit's or any transfer the bank reported for them, matched
  or flagged (:attr:`LotRecord.payments`).
* ``shared_contact`` / ``shared_document``: two or more bidders admitted from online
  applications gave one contact (telephone, e-mail) or uploaded the same document (the
  same SHA-256: 不同投标人的投标文件由同一单位或者个人编制, deemed collusion).
* ``lockstep``: bidder B's bids follow bidder A's, again and again, within a short and
  nearly constant interval (a script or one person bidding for both). Automatic bids
  of a proxy maximum (actor ``system``) answer at once by design and are not followers.
* ``identical_prices``: two bidders bid the same amounts (only possible where bids need
  not beat the best, ``improve: own``).
* ``fixed_gap``: bidder B answers bidder A, again and again, with the same jump, larger
  than the step (报价呈规律性差异).

Across lots (:func:`check_lots`), identities being bidder ids (the registration id of a
company, the same in every lot it enters):

* ``shared_address`` / ``shared_device`` / ``shared_account`` / ``shared_contact`` /
  ``shared_document`` between different bidders in different lots;
* ``fixed_gap``: two bidders whose final prices differ by the same amount or ratio in
  every lot both entered (at least ``gap_min_lots``);
* ``cover_bidding`` (陪标): a bidder who, lot after lot, registers and pays a deposit but
  never bids seriously (no bid, or a single one far from the winning price);
* ``winner_rotation``: a group of bidders who take turns winning the lots they all
  enter, the others covering (bidding not seriously) each time.
"""

import itertools
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from auction.model import SYSTEM, BidAccepted, DepositConfirmed
from auction.money import format_amount
from auction.record import Recorded
from auction.state import AWARDED, LotState

HIGH, MEDIUM = "high", "medium"


@dataclass(frozen=True, slots=True)
class Thresholds:
    """When each check raises a flag (defaults documented in docs/records.md)."""

    #: lockstep: B's bid comes within this many ms after A's...
    lockstep_window_ms: int = 2000
    #: ... at least this many times ...
    lockstep_min: int = 5
    #: ... making at least this share of B's bids ...
    lockstep_share: Fraction = Fraction(1, 2)
    #: ... with intervals spread (max - min) over at most this many ms, or this share of
    #: the median interval if that is more: a machine's constant latency, not a person's.
    lockstep_jitter_ms: int = 100
    lockstep_jitter_share: Fraction = Fraction(15, 100)
    #: identical_prices: distinct amounts two bidders both bid.
    identical_min: int = 2
    #: fixed_gap in a lot: B answers A with the same jump (> one step) this many times,
    #: making at least ``lockstep_share`` of B's bids.
    gap_min: int = 5
    #: fixed_gap across lots: lots in which both bid with the same difference or ratio.
    gap_min_lots: int = 3
    #: Ratios of final prices count as equal within this relative tolerance.
    gap_ratio_tolerance: Fraction = Fraction(1, 10_000)
    #: cover_bidding: a bid is far from the winning price from this many steps on.
    cover_far_steps: int = 2
    #: cover_bidding: at most this many bids is not serious bidding.
    cover_max_bids: int = 1
    #: cover_bidding: lots with cover bidding, and their least share of the bidder's lots.
    cover_min_lots: int = 2
    cover_share: Fraction = Fraction(1, 2)
    #: winner_rotation: lots the whole group entered, group sizes considered.
    rotation_min_lots: int = 3
    rotation_max_group: int = 4
    #: Fingerprints too common to tell machines apart (a hash of the User-Agent) or
    #: unknown: not compared.
    weak_device_prefixes: tuple[str, ...] = ("ua:",)
    weak_devices: frozenset[str] = frozenset({"web:unknown"})


DEFAULT = Thresholds()


@dataclass(frozen=True, slots=True)
class LotRecord:
    """What the checks read of one lot. ``connections`` are the web layer's entries
    (``{"at", "kind": "join"|"leave", "role", "bidder_id", "ip", "device", ...}``);
    only those with role ``bidder`` are used. ``applicants`` are the applications of the
    lot's bidders admitted from them (``{"bidder_id", "contacts": [...], "documents":
    [sha256, ...]}``)."""

    state: LotState
    records: Sequence[Recorded]
    connections: Sequence[Mapping[str, Any]] = ()
    applicants: Sequence[Mapping[str, Any]] = ()
    #: The bank's arrivals for the lot's bidders, matched or flagged (a deposit paid from
    #: another company's account is refused, yet it is evidence): ``(bidder_id,
    #: payer_account, transaction_id)`` (:mod:`auction.trade.deposits_bank`).
    payments: Sequence[tuple[str, str, str]] = ()


@dataclass(frozen=True, slots=True)
class Flag:
    """One finding: ``check``, ``scope`` (``lot`` or ``lots``), ``level`` (``high`` or
    ``medium``), the lots and bidders concerned, the evidence and a sentence in Chinese
    and English."""

    check: str
    scope: str
    level: str
    lots: tuple[str, ...]
    bidders: tuple[dict[str, str], ...]
    evidence: dict[str, Any]
    message: dict[str, str]

    def to_dict(self) -> dict[str, Any]:
        return {"check": self.check, "scope": self.scope, "level": self.level,
                "lots": list(self.lots), "bidders": [dict(b) for b in self.bidders],
                "evidence": self.evidence, "message": dict(self.message)}


@dataclass(slots=True)
class _Bid:
    seq: int
    at: int
    bidder_id: str
    amount: int
    ip: str
    device: str
    #: Made by the engine for a proxy maximum (actor ``system``), not timed by a person.
    auto: bool = False


@dataclass(slots=True)
class _Lot:
    """A lot read once for all checks."""

    record: LotRecord
    bids: list[_Bid] = field(default_factory=list)
    accounts: dict[str, tuple[str, int]] = field(default_factory=dict)

    @property
    def state(self) -> LotState:
        return self.record.state

    @property
    def lot_id(self) -> str:
        return self.record.state.lot_id

    def who(self, bidder_id: str) -> dict[str, str]:
        bidder = self.state.bidders.get(bidder_id)
        return {"lot_id": self.lot_id, "bidder_id": bidder_id,
                "bidder_no": bidder.bidder_no if bidder else "",
                "name": bidder.name if bidder else ""}

    def no(self, bidder_id: str) -> str:
        return self.who(bidder_id)["bidder_no"]

    def money(self, amount: int) -> str:
        return format_amount(amount, self.state.params.decimals)

    def winner(self) -> str | None:
        o = self.state.outcome
        return o.bidder_id if o is not None and o.status == AWARDED else None


def _read(record: LotRecord) -> _Lot:
    lot = _Lot(record)
    for r in record.records:
        e = r.event
        if isinstance(e, BidAccepted):
            lot.bids.append(_Bid(r.seq, e.at, e.bidder_id, e.amount, e.ip, e.device,
                                 e.actor == SYSTEM))
        elif isinstance(e, DepositConfirmed):
            lot.accounts[e.bidder_id] = (e.account, r.seq)
    return lot


# --------------------------------------------------------------------------- shared things


def _uses(lot: _Lot, what: str) -> Iterable[tuple[str, str, dict[str, Any]]]:
    """``(value, bidder_id, use)`` for every use of an address, device or account."""
    if what == "account":
        for bidder_id, (account, seq) in lot.accounts.items():
            yield account, bidder_id, {"lot_id": lot.lot_id, "seq": seq, "how": "deposit"}
        for bidder_id, account, transaction_id in lot.record.payments:
            yield account, bidder_id, {"lot_id": lot.lot_id, "transaction_id": transaction_id,
                                       "how": "bank"}
        return
    if what in ("contact", "document"):
        for applicant in lot.record.applicants:
            for value in applicant.get(f"{what}s", ()):
                yield str(value), str(applicant["bidder_id"]), {"lot_id": lot.lot_id,
                                                                "how": "application"}
        return
    for bid in lot.bids:
        yield (bid.ip if what == "address" else bid.device), bid.bidder_id, {
            "lot_id": lot.lot_id, "seq": bid.seq, "at": bid.at, "how": "bid"}
    for entry in lot.record.connections:
        if entry.get("role") == "bidder" and isinstance(entry.get("bidder_id"), str):
            value = entry.get("ip" if what == "address" else "device")
            if isinstance(value, str):
                yield value, entry["bidder_id"], {"lot_id": lot.lot_id, "at": entry.get("at"),
                                                  "how": entry.get("kind", "join")}


def _usable(value: str, what: str, t: Thresholds) -> bool:
    if not value.strip():
        return False
    if what == "device":
        return value not in t.weak_devices and not value.startswith(t.weak_device_prefixes)
    return True


_SHARED_TEXT = {
    "address": ("竞买人 {nos} 使用同一网络地址 {value}", "Bidders {nos} used one network "
                "address, {value}"),
    "device": ("竞买人 {nos} 使用同一设备标识 {value}", "Bidders {nos} used one client "
               "fingerprint, {value}"),
    "account": ("竞买人 {nos} 的保证金从同一账户 {value} 转出", "The deposits of bidders {nos} "
                "came from one account, {value}"),
    "contact": ("竞买人 {nos} 的竞买申请使用同一联系方式 {value}", "The applications of bidders "
                "{nos} gave one contact, {value}"),
    "document": ("竞买人 {nos} 上传了相同的申请文件（SHA-256 {value}）", "Bidders {nos} uploaded "
                 "the same document (SHA-256 {value})"),
}
#: What bidders may share, each a check ``shared_<what>``.
_SHARED = ("address", "device", "account", "contact", "document")


def _shared(lots: Sequence[_Lot], what: str, t: Thresholds, *, across: bool) -> list[Flag]:
    found: dict[str, dict[str, list[dict[str, Any]]]] = defaultdict(lambda: defaultdict(list))
    for lot in lots:
        for value, bidder_id, use in _uses(lot, what):
            if _usable(value, what, t):
                found[value][bidder_id].append(use)
    by_id = {lot.lot_id: lot for lot in lots}
    flags = []
    for value, users in sorted(found.items()):
        if len(users) < 2:
            continue
        lot_ids = sorted({u["lot_id"] for uses in users.values() for u in uses})
        if across and len(lot_ids) < 2:
            continue  # confined to one lot: the lot's own check reports it
        bidders = []
        for bidder_id, uses in sorted(users.items()):
            for lot_id in sorted({u["lot_id"] for u in uses}):
                bidders.append(by_id[lot_id].who(bidder_id))
        nos = "、".join(sorted({b["bidder_no"] for b in bidders}))
        zh, en = _SHARED_TEXT[what]
        flags.append(Flag(
            check=f"shared_{what}", scope="lots" if across else "lot",
            level=MEDIUM if what == "address" else HIGH, lots=tuple(lot_ids),
            bidders=tuple(bidders),
            evidence={what: value, "bidders": len(users),
                      "uses": {bidder_id: uses for bidder_id, uses in sorted(users.items())}},
            message={"zh": zh.format(nos=nos, value=value),
                     "en": en.format(nos=nos.replace("、", ", "), value=value)}))
    return flags


# --------------------------------------------------------------------------- bid patterns


def _follows(lot: _Lot) -> dict[tuple[str, str], list[tuple[_Bid, _Bid]]]:
    """For each ordered pair (A, B) of bidders, the bids of B that came right after a
    bid of A (the next accepted bid of the lot), with that bid of A."""
    pairs: dict[tuple[str, str], list[tuple[_Bid, _Bid]]] = defaultdict(list)
    for before, after in itertools.pairwise(lot.bids):
        if before.bidder_id != after.bidder_id:
            pairs[before.bidder_id, after.bidder_id].append((before, after))
    return pairs


def _bid_counts(lot: _Lot) -> dict[str, int]:
    counts: dict[str, int] = defaultdict(int)
    for bid in lot.bids:
        counts[bid.bidder_id] += 1
    return counts


def _lockstep(lot: _Lot, t: Thresholds) -> list[Flag]:
    counts = _bid_counts(lot)
    flags = []
    for (a, b), pairs in sorted(_follows(lot).items()):
        # An automatic (proxy) bid follows at once by design: it says nothing of timing.
        close = [(x, y) for x, y in pairs
                 if y.at - x.at <= t.lockstep_window_ms and not y.auto]
        gaps = sorted(y.at - x.at for x, y in close)
        if len(close) < t.lockstep_min or Fraction(len(close), counts[b]) < t.lockstep_share:
            continue
        median = gaps[len(gaps) // 2]
        allowed = max(Fraction(t.lockstep_jitter_ms), t.lockstep_jitter_share * median)
        if gaps[-1] - gaps[0] > allowed:
            continue
        na, nb = lot.no(a), lot.no(b)
        flags.append(Flag(
            check="lockstep", scope="lot", level=MEDIUM, lots=(lot.lot_id,),
            bidders=(lot.who(a), lot.who(b)),
            evidence={"leader": na, "follower": nb, "times": len(close),
                      "follower_bids": counts[b], "min_ms": min(gaps), "max_ms": max(gaps),
                      "pairs": [{"seq": x.seq, "then_seq": y.seq, "gap_ms": y.at - x.at}
                                for x, y in close]},
            message={"zh": f"竞买人 {nb} 有 {len(close)} 次在 {na} 报价后 {min(gaps)}–{max(gaps)}"
                           f" 毫秒内跟随报价（共 {counts[b]} 次报价）",
                     "en": f"Bidder {nb} bid {len(close)} times within {min(gaps)}–{max(gaps)} "
                           f"ms after bidder {na} (of its {counts[b]} bids)"}))
    return flags


def _identical(lot: _Lot, t: Thresholds) -> list[Flag]:
    bidders_of: dict[int, dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
    for bid in lot.bids:
        bidders_of[bid.amount][bid.bidder_id].append(bid.seq)
    shared: dict[tuple[str, str], list[int]] = defaultdict(list)
    for amount, users in bidders_of.items():
        for a, b in itertools.combinations(sorted(users), 2):
            shared[a, b].append(amount)
    flags = []
    for (a, b), amounts in sorted(shared.items()):
        if len(amounts) < t.identical_min:
            continue
        na, nb = lot.no(a), lot.no(b)
        flags.append(Flag(
            check="identical_prices", scope="lot", level=HIGH, lots=(lot.lot_id,),
            bidders=(lot.who(a), lot.who(b)),
            evidence={"amounts": [lot.money(x) for x in sorted(amounts)],
                      "seqs": {na: sorted(s for x in amounts for s in bidders_of[x][a]),
                               nb: sorted(s for x in amounts for s in bidders_of[x][b])}},
            message={"zh": f"竞买人 {na} 与 {nb} 有 {len(amounts)} 个报价完全相同",
                     "en": f"Bidders {na} and {nb} bid {len(amounts)} identical amounts"}))
    return flags


def _fixed_gap_in_lot(lot: _Lot, t: Thresholds) -> list[Flag]:
    counts = _bid_counts(lot)
    p = lot.state.params
    flags = []
    for (a, b), pairs in sorted(_follows(lot).items()):
        jumps = {abs(y.amount - x.amount) for x, y in pairs}
        if len(pairs) < t.gap_min or len(jumps) != 1:
            continue
        jump = jumps.pop()
        if (jump <= max(p.step_at(x.amount) for x, _ in pairs)
                or Fraction(len(pairs), counts[b]) < t.lockstep_share):
            continue
        na, nb = lot.no(a), lot.no(b)
        flags.append(Flag(
            check="fixed_gap", scope="lot", level=MEDIUM, lots=(lot.lot_id,),
            bidders=(lot.who(a), lot.who(b)),
            evidence={"leader": na, "follower": nb, "gap": lot.money(jump), "times": len(pairs),
                      "pairs": [{"seq": x.seq, "then_seq": y.seq, "amount": lot.money(x.amount),
                                 "then_amount": lot.money(y.amount)} for x, y in pairs]},
            message={"zh": f"竞买人 {nb} 有 {len(pairs)} 次紧随 {na} 报价，且每次相差同一金额 "
                           f"{lot.money(jump)}（大于加价幅度）",
                     "en": f"Bidder {nb} answered bidder {na} {len(pairs)} times, each time with "
                           f"the same jump of {lot.money(jump)} (more than the step)"}))
    return flags


def _fixed_gap_across(lots: Sequence[_Lot], t: Thresholds) -> list[Flag]:
    last: dict[str, dict[str, int]] = {}
    for lot in lots:
        finals: dict[str, int] = {}
        for bid in lot.bids:
            finals[bid.bidder_id] = bid.amount
        last[lot.lot_id] = finals
    by_id = {lot.lot_id: lot for lot in lots}
    together: dict[tuple[str, str], list[str]] = defaultdict(list)  # pairs that met
    for lot_id, finals in last.items():
        for pair in itertools.combinations(sorted(finals), 2):
            together[pair].append(lot_id)
    flags = []
    for (a, b), shared in sorted(together.items()):
        if len(shared) < t.gap_min_lots:
            continue
        diffs = {last[x][b] - last[x][a] for x in shared}
        ratios = [Fraction(last[x][b], last[x][a]) for x in shared]
        one_step = all(abs(last[x][b] - last[x][a]) in (by_id[x].state.params.step_at(
            last[x][a]), by_id[x].state.params.step_at(last[x][b])) for x in shared)
        same_diff = len(diffs) == 1 and 0 not in diffs
        same_ratio = ratios[0] != 1 and all(abs(r - ratios[0]) <= t.gap_ratio_tolerance
                                            * ratios[0] for r in ratios)
        if one_step or not (same_diff or same_ratio):
            continue
        per_lot = [{"lot_id": x, by_id[x].no(a): by_id[x].money(last[x][a]),
                    by_id[x].no(b): by_id[x].money(last[x][b])} for x in shared]
        kind_zh, kind_en = ("相同差额", "the same difference") if same_diff else (
            "相同比例", "the same ratio")
        flags.append(Flag(
            check="fixed_gap", scope="lots", level=MEDIUM, lots=tuple(shared),
            bidders=tuple(by_id[x].who(y) for y in (a, b) for x in shared),
            evidence={"bidder_ids": [a, b], "lots": len(shared), "same": "difference"
                      if same_diff else "ratio", "ratio": _decimal(ratios[0]),
                      "final_prices": per_lot},
            message={"zh": f"竞买人 {a} 与 {b} 在 {len(shared)} 个标的中的最终报价呈{kind_zh}",
                     "en": f"In {len(shared)} lots the final prices of bidders {a} and {b} show "
                           f"{kind_en}"}))
    return flags


# --------------------------------------------------------------------------- across lots


def _decimal(ratio: Fraction) -> str:
    """A ratio as a decimal string with six places (no float)."""
    scaled = round(ratio * 1_000_000)
    return f"{scaled // 1_000_000}.{scaled % 1_000_000:06d}"


def _cover(lot: _Lot, bidder_id: str, t: Thresholds) -> dict[str, Any] | None:
    """Evidence that ``bidder_id`` did not bid seriously in ``lot`` (an awarded lot it
    entered), or None (it did, or it won)."""
    winner, outcome = lot.winner(), lot.state.outcome
    assert winner is not None and outcome is not None and outcome.amount is not None
    if winner == bidder_id:
        return None
    price = outcome.amount
    bidder = lot.state.bidders[bidder_id]
    bids = [b for b in lot.bids if b.bidder_id == bidder_id]
    if len(bids) > t.cover_max_bids:
        return None
    step = lot.state.params.step_at
    if any(abs(b.amount - price) < t.cover_far_steps * step(min(b.amount, price))
           for b in bids):
        return None
    return {"lot_id": lot.lot_id, "bidder_no": bidder.bidder_no, "bids": len(bids),
            "seqs": [b.seq for b in bids], "amounts": [lot.money(b.amount) for b in bids],
            "winning_price": lot.money(price), "winner_no": lot.no(winner)}


def _entered(lot: _Lot) -> set[str]:
    """Bidders who entered the lot: registered with a confirmed deposit."""
    return {b.bidder_id for b in lot.state.bidders.values() if b.deposit is not None}


def _cover_bidding(lots: Sequence[_Lot], t: Thresholds) -> list[Flag]:
    entered: dict[str, list[_Lot]] = defaultdict(list)
    for lot in lots:
        if lot.winner() is not None:
            for bidder_id in _entered(lot):
                entered[bidder_id].append(lot)
    flags = []
    for bidder_id, its_lots in sorted(entered.items()):
        covers = [c for c in (_cover(lot, bidder_id, t) for lot in its_lots) if c]
        if (len(covers) < t.cover_min_lots
                or Fraction(len(covers), len(its_lots)) < t.cover_share):
            continue
        won = sum(1 for lot in its_lots if lot.winner() == bidder_id)
        by_id = {lot.lot_id: lot for lot in its_lots}
        flags.append(Flag(
            check="cover_bidding", scope="lots", level=MEDIUM,
            lots=tuple(c["lot_id"] for c in covers),
            bidders=tuple(by_id[c["lot_id"]].who(bidder_id) for c in covers),
            evidence={"bidder_id": bidder_id, "lots_entered": len(its_lots), "lots_won": won,
                      "cover_lots": covers},
            message={"zh": f"竞买人 {bidder_id} 在参加的 {len(its_lots)} 个标的中有 "
                           f"{len(covers)} 个未实质竞价（未报价或仅一次远离成交价的报价）",
                     "en": f"Bidder {bidder_id} did not bid seriously in {len(covers)} of the "
                           f"{len(its_lots)} lots it entered (no bid, or one bid far from the "
                           "winning price)"}))
    return flags


def _winner_rotation(lots: Sequence[_Lot], t: Thresholds) -> list[Flag]:
    awarded = [lot for lot in lots if lot.winner() is not None]
    winners = sorted({w for lot in awarded if (w := lot.winner()) is not None})
    entered_by: dict[str, set[int]] = {w: set() for w in winners}  # awarded lots entered
    for index, lot in enumerate(awarded):
        for bidder_id in _entered(lot) & entered_by.keys():
            entered_by[bidder_id].add(index)
    found: list[tuple[frozenset[str], list[_Lot]]] = []
    largest = min(t.rotation_max_group, len(winners)) if len(winners) <= 30 else 2
    for size in range(largest, 1, -1):
        for group in itertools.combinations(winners, size):
            members = frozenset(group)
            if any(members < bigger for bigger, _ in found):
                continue
            common = set.intersection(*(entered_by[m] for m in group))
            if len(common) < t.rotation_min_lots:
                continue
            shared = [awarded[i] for i in sorted(common)]
            if any(lot.winner() not in members for lot in shared):
                continue
            if {lot.winner() for lot in shared} != members:
                continue
            if any(_cover(lot, m, t) is None for lot in shared for m in members
                   if m != lot.winner()):
                continue
            found.append((members, shared))
    flags = []
    for members, shared in found:
        order = []
        for lot in shared:
            winner, outcome = lot.winner(), lot.state.outcome
            assert winner is not None and outcome is not None and outcome.amount is not None
            order.append({"lot_id": lot.lot_id, "winner": winner, "winner_no": lot.no(winner),
                          "price": lot.money(outcome.amount)})
        ids = sorted(members)
        flags.append(Flag(
            check="winner_rotation", scope="lots", level=HIGH,
            lots=tuple(lot.lot_id for lot in shared),
            bidders=tuple(lot.who(m) for lot in shared for m in ids),
            evidence={"group": ids, "lots": len(shared), "winners": order},
            message={"zh": f"竞买人 {'、'.join(ids)} 共同参加的 {len(shared)} 个标的由其轮流中标，"
                           "其余成员均未实质竞价",
                     "en": f"Bidders {', '.join(ids)} took turns winning the {len(shared)} lots "
                           "they all entered, the others not bidding seriously"}))
    return flags


# --------------------------------------------------------------------------- entry points


def check_lot(record: LotRecord, thresholds: Thresholds = DEFAULT) -> list[Flag]:
    """Every per-lot check on one lot."""
    lot = _read(record)
    t = thresholds
    return [*(f for what in _SHARED for f in _shared([lot], what, t, across=False)),
            *_lockstep(lot, t), *_identical(lot, t), *_fixed_gap_in_lot(lot, t)]


def check_lots(records: Sequence[LotRecord], thresholds: Thresholds = DEFAULT) -> list[Flag]:
    """Every check across lots (not repeating what :func:`check_lot` finds in one lot)."""
    lots = [_read(r) for r in records]
    t = thresholds
    return [*(f for what in _SHARED for f in _shared(lots, what, t, across=True)),
            *_fixed_gap_across(lots, t),
            *_cover_bidding(lots, t), *_winner_rotation(lots, t)]
