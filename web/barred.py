"""The barred parties list (e.g. an imported list of dishonest judgment debtors) and the
checks made against it (docs/trade.md): at application and admission (:mod:`web.trade`),
at the winner's review, and at every step of an award (:func:`refuse_barred_winners`:
the result notice and the transaction confirmation, :mod:`web.after`; the payment
notice, :mod:`web.bank`).

A bidder admitted from an application is checked by its account's code and its
consortium members' codes, as the list is now. A bidder a host registered on site has
no code on record (its registration holds a name only): the list cannot be checked for
it here, the host checks it at the counter.
"""

import csv
import logging
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from auction.aggregate import is_aggregate_id
from auction.trade.accounts import Account
from auction.trade.applications import Application, RecordBarredAtAward
from engine.aggregates import Refused
from web.errors import WebError
from web.keys import ENGINE, TRADE

log = logging.getLogger(__name__)


class BarredList:
    """The barred parties: the first column of a CSV file (credit codes, identity
    numbers; blank lines and lines starting with ``#`` skipped), read again when the
    file changes. With no file configured nobody is barred; a configured file that
    cannot be read makes every check fail (503) rather than let anyone through."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._stamp: tuple[int, int] | None = None
        self._codes: frozenset[str] = frozenset()

    def codes(self) -> frozenset[str]:
        if self.path is None:
            return frozenset()
        try:
            stat = self.path.stat()
            stamp = (stat.st_mtime_ns, stat.st_size)
            if stamp != self._stamp:
                with self.path.open(encoding="utf-8-sig", newline="") as file:
                    self._codes = frozenset(
                        row[0].strip().upper() for row in csv.reader(file)
                        if row and row[0].strip() and not row[0].startswith("#"))
                self._stamp = stamp
        except (OSError, UnicodeDecodeError, csv.Error) as exc:
            log.error("the barred parties list %s cannot be read: %s", self.path, exc)
            raise WebError(503, "unavailable", "the barred parties list cannot be read") \
                from None
        return self._codes

    def any_barred(self, codes: list[str]) -> bool:
        listed = self.codes()
        return any(code.upper() in listed for code in codes)


async def is_barred(app: Mapping[Any, Any], application: Application) -> bool:
    """Whether the applicant or a consortium member is on the barred list now."""
    trade = app[TRADE]
    account: Account = await app[ENGINE].aggregates.state(trade.accounts,
                                                          application.account_id)
    return bool(trade.barred.any_barred([account.code, *application.consortium]))


async def refuse_barred_winners(app: Mapping[Any, Any], bidder_ids: Iterable[str],
                                step: str, actor: str) -> None:
    """Check the winners ``bidder_ids`` of a lot against the barred list as it is now,
    before the award's ``step`` (``result_notice``, ``confirmation``, ``payment``) is
    taken by ``actor``. A winner admitted from an application that is listed (or one of
    its consortium members) has the refusal recorded on its application (``BarredAtAward``:
    actor, step, reason), then 409 ``winner_barred`` is raised and the step is not taken.
    A list that cannot be read raises 503 before anything is recorded. A host-registered
    winner (no application, no code on record) passes: see the module's note."""
    engine, trade = app[ENGINE], app[TRADE]
    listed: list[Application] = []
    for bidder_id in bidder_ids:
        if not is_aggregate_id(bidder_id) or not await engine.aggregates.exists(
                trade.applications, bidder_id):
            continue
        application: Application = await engine.aggregates.state(trade.applications,
                                                                 bidder_id)
        if await is_barred(app, application):
            listed.append(application)
    for application in listed:
        try:
            await engine.aggregates.execute(trade.applications, application.application_id,
                                            RecordBarredAtAward(step, actor))
        except Refused as exc:  # not admitted: cannot be a winner, nothing to record
            log.warning("barred at award not recorded on %s: %s",
                        application.application_id, exc.rejection.code)
    if listed:
        names = ", ".join(f"{a.bidder_no} {a.name}" for a in listed)
        log.warning("%s refused: winner(s) on the barred list: %s", step, names)
        raise WebError(409, "winner_barred",
                       f"on the barred parties list now: bidder No. {names}")
