"""The session coordinator: runs what a session's closing mode needs (serial starts,
staggered moves of closing times) after every commit of one of its lots.

The rules are :func:`auction.sessions.plan`; this module only listens and executes. It
lives in every process of a deployment (each sees every commit of the lots it knows),
so several may issue the same command: the rules refuse it once it is done (a lot
already started, a closing time already moved), and such refusals are expected.
"""

import asyncio
import logging
from collections.abc import Callable

from auction.model import Rejection
from auction.sessions import PARALLEL, SessionRules, plan
from auction.state import LotState
from engine.api import Engine, EngineError, Session

log = logging.getLogger(__name__)

#: After a failed settling, the session is settled again after this long (s), doubled
#: at each failure in a row up to :data:`SETTLE_RETRY_MAX_S`.
SETTLE_RETRY_S = 0.5
SETTLE_RETRY_MAX_S = 60.0


class SessionCoordinator:
    """Plans and executes the commands of the sessions of ``engine``; ``session_of``
    finds a session by id (None: unknown here, nothing to do)."""

    def __init__(self, engine: Engine, session_of: Callable[[str], Session | None]) -> None:
        self._engine = engine
        self._session_of = session_of
        self._armed = False
        self._dirty: dict[str, None] = {}
        self._task: asyncio.Task[None] | None = None
        #: Sessions whose last settling failed: how many times in a row.
        self._failures: dict[str, int] = {}

    def start(self) -> None:
        """Begin: settle every session once (a lot may have ended while no process ran)."""
        self._armed = True
        for session in self._engine.sessions():
            if session.mode != PARALLEL:
                self.poke(session.session_id)

    def new_session(self, session: Session) -> None:
        """A session this process had not known (made by another one): settle it."""
        if self._armed and session.mode != PARALLEL:
            self.poke(session.session_id)

    def committed(self, state: LotState) -> None:
        """A commit of ``state``'s lot: settle its session if it has a closing mode."""
        if not self._armed or not state.session_id:
            return
        session = self._session_of(state.session_id)
        if session is not None and session.mode != PARALLEL:
            self.poke(session.session_id)

    def poke(self, session_id: str) -> None:
        self._dirty[session_id] = None
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        self._armed = False
        self._dirty.clear()
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _run(self) -> None:
        while self._dirty:
            session_id = next(iter(self._dirty))
            del self._dirty[session_id]
            try:
                await self.settle(session_id)
            except Exception as exc:  # (the store unreachable, a lot unreadable): again
                failures = self._failures[session_id] = self._failures.get(session_id, 0) + 1
                wait = min(SETTLE_RETRY_S * 2 ** (failures - 1), SETTLE_RETRY_MAX_S)
                if isinstance(exc, EngineError):
                    log.warning("session %s not settled: %s; again in %g s", session_id,
                                exc, wait)
                else:
                    log.exception("session %s not settled; again in %g s", session_id, wait)
                asyncio.get_running_loop().call_later(wait, self._again, session_id)
            else:
                self._failures.pop(session_id, None)

    def _again(self, session_id: str) -> None:
        if self._armed:
            self.poke(session_id)

    async def settle(self, session_id: str) -> None:
        """Execute what session ``session_id`` needs now (its lots in creation order)."""
        session = self._session_of(session_id)
        if session is None or session.mode == PARALLEL:
            return
        lots: list[LotState] = []
        after: str | None = None
        while True:  # the session's lots from the store's listing, ended ones included
            page, after = await self._engine.lots(session_id=session_id, after=after)
            lots.extend(page)
            if after is None:
                break
        for lot_id, command in plan(session_id, SessionRules(session.mode, session.stagger_s),
                                    lots):
            result = await self._engine.execute(lot_id, command)
            if isinstance(result, Rejection):  # done already, by another process or staff
                log.info("session %s: %s of %s refused: %s", session_id,
                         type(command).__name__, lot_id, result.code)
