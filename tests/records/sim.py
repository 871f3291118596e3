"""Simulated lots for the record tests, built through the rules exactly as the engine
builds them: each command decided at its own time, its events sealed into the hash chain
and folded into the state. Plus seeded honest bidders for the collusion checks."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from auction.collusion import LotRecord
from auction.lot import decide, evolve
from auction.model import (
    Command,
    ConfirmDeposit,
    CreateLot,
    Decision,
    Event,
    PlaceBid,
    RegisterBidder,
    Rejection,
    ScheduleLot,
    StartLot,
    Tick,
)
from auction.money import parse_amount
from auction.record import GENESIS, Recorded, seal
from auction.state import LotState

T0 = 1_767_225_600_000  # 2026-01-01T00:00:00Z
HOST = "host1"


def cny(text: str) -> int:
    return parse_amount(text, 2)


def params(**overrides: Any) -> dict[str, Any]:
    """Forward english params: start 1,000,000.00, step 10,000.00, an hour long."""
    base: dict[str, Any] = {"start_price": "1000000.00", "step": "10000.00",
                            "closes_at": T0 + 3_600_000, "deposit": "50000.00"}
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


class SimLot:
    """One lot driven through ``decide``/``evolve`` with a sealed, hash-chained record."""

    def __init__(self, lot_id: str = "L-1", lot_params: dict[str, Any] | None = None, *,
                 title: str = "国有建设用地使用权 A-1", at: int = T0 - 60_000) -> None:
        self.lot_id = lot_id
        self.state: LotState | None = None
        self.records: list[Recorded] = []
        self.connections: list[dict[str, Any]] = []
        self.do(CreateLot(lot_id=lot_id, session_id="S-1", format="english", title=title,
                          params=params() if lot_params is None else lot_params, actor=HOST),
                at)

    @property
    def s(self) -> LotState:
        assert self.state is not None
        return self.state

    @property
    def events(self) -> list[Event]:
        return [r.event for r in self.records]

    def decide(self, cmd: Command, at: int) -> Decision:
        decision = decide(self.state, cmd, at)
        if not isinstance(decision, Rejection):
            prev = self.records[-1].hash if self.records else GENESIS
            for record in seal(self.lot_id, len(self.records) + 1, prev, decision):
                self.state = evolve(self.state, record.event)
                self.records.append(record)
        return decision

    def do(self, cmd: Command, at: int) -> list[Event]:
        decision = self.decide(cmd, at)
        assert not isinstance(decision, Rejection), (cmd, decision)
        return decision

    def register(self, bidder_id: str, no: str | None = None, *, deposit: bool = True,
                 account: str | None = None, at: int = T0 - 30_000) -> None:
        self.do(RegisterBidder(bidder_id=bidder_id, bidder_no=no or f"9{len(self.s.bidders):03d}",
                               name=f"公司 {bidder_id}", actor=HOST), at)
        if deposit:
            self.do(ConfirmDeposit(bidder_id=bidder_id, amount=self.s.params.deposit,
                                   account=account or f"acct-{bidder_id}", actor=HOST), at)

    def open(self, at: int = T0) -> SimLot:
        self.do(ScheduleLot(actor=HOST), at)
        self.do(StartLot(actor=HOST), at)
        return self

    def bid(self, bidder_id: str, amount: int | str, at: int, *, ip: str = "",
            device: str = "") -> list[Event]:
        minor = cny(amount) if isinstance(amount, str) else amount
        return self.do(PlaceBid(bidder_id=bidder_id, amount=minor, ip=ip, device=device,
                                ref=f"r{len(self.records)}"), at)

    def close(self) -> list[Event]:
        assert self.s.closes_at is not None
        return self.do(Tick(), self.s.closes_at)

    def join(self, bidder_id: str, at: int, ip: str, device: str) -> None:
        """A bidder's WebSocket join, as the web layer's connection log records it."""
        self.connections.append({"at": at, "lot_id": self.lot_id, "kind": "join",
                                 "conn": f"c{len(self.connections)}", "role": "bidder",
                                 "bidder_id": bidder_id,
                                 "bidder_no": self.s.bidders[bidder_id].bidder_no,
                                 "ip": ip, "device": device})

    def record(self) -> LotRecord:
        return LotRecord(self.s, list(self.records), list(self.connections))


@dataclass
class Company:
    """An honest bidder: its own address, device and account in every lot."""

    bidder_id: str
    ip: str
    device: str
    account: str
    think: tuple[float, float]
    limits: dict[str, int] = field(default_factory=dict)


def honest_companies(rng: random.Random, n: int) -> list[Company]:
    return [Company(f"co-{i:02d}", f"10.{rng.randrange(256)}.{rng.randrange(256)}.{i + 1}",
                    f"web:{rng.getrandbits(96):024x}", f"6222-{rng.getrandbits(40):012d}",
                    (rng.uniform(0.5, 2.0), rng.uniform(4.0, 20.0)))
            for i in range(n)]


def honest_lot(rng: random.Random, lot_id: str, companies: list[Company], *,
               start: int = T0, covers: tuple[Company, ...] = ()) -> SimLot:
    """A lot where ``companies`` bid independently: each, when outbid, waits a random
    think time and bids the minimum (sometimes one or two steps more) while under its
    private limit; the lot closes an hour after it opened. ``covers`` enter too (deposit
    paid) but do not compete: the first bids the start price at once, the others never."""
    lot = SimLot(lot_id, params(closes_at=start + 3_600_000, max_jump_steps=5),
                 at=start - 60_000)
    everyone = [*companies, *covers]
    numbers = rng.sample(range(1000, 10000), len(everyone))
    for c, no in zip(everyone, numbers, strict=True):
        lot.register(c.bidder_id, no=str(no), account=c.account, at=start - 30_000)
        c.limits[lot_id] = cny("1000000.00") * rng.randint(120, 160) // 100
    lot.open(start)
    if covers:
        lot.bid(covers[0].bidder_id, lot.s.params.start_price, start + 100, ip=covers[0].ip,
                device=covers[0].device)
    step = lot.s.params.tiers[0].step
    now = start
    for c in companies:
        lot.join(c.bidder_id, start - rng.randrange(1000, 60_000), c.ip, c.device)
    while True:
        best = lot.s.best
        offers = []
        for c in companies:
            if lot.s.leader == c.bidder_id:
                continue
            jump = rng.choices([1, 2, 3], weights=[7, 2, 1])[0]
            price = lot.s.params.start_price if best is None else best + jump * step
            if price > c.limits[lot_id]:
                continue
            offers.append((now + int(1000 * rng.uniform(*c.think)), price, c))
        if not offers:
            break
        at, price, c = min(offers, key=lambda o: o[0])
        if at >= lot.s.closes_at - 1:  # type: ignore[operator]
            break
        lot.bid(c.bidder_id, price, at, ip=c.ip, device=c.device)
        now = at
    lot.close()
    return lot
