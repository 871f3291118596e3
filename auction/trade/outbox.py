"""Webhooks' outbox: which durable events are milestones, the delivery of each to the
center's receiver, and what the receiver is sent. Pure: the engine side
(:mod:`web.webhooks`) reads the records, posts, and records each attempt here.

*Naive:* post to the receiver right after an event is recorded. A crash between the two
loses the milestone; a receiver that is down loses it too.

*Chosen:* the outbox is the durable record itself. A milestone is a recorded event whose
type is registered here (:data:`MILESTONES`: lots' and the trade's events), or one a
module emits on purpose into the ``outbox`` stream (:class:`MilestoneEmitted`, through
``web.webhooks.emit``); either way it is durable before anyone is answered. Each
milestone's key is its place in the record (``stream:seq``), so it is the same after any
restart; the dispatcher's position is derived from the deliveries recorded (an aggregate
``webhook`` per milestone): whatever has no successful attempt is sent (again). Delivery
is at least once: a receiver must treat a repeated idempotency key as the same
milestone (the body is the same bytes too).
"""

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from auction.messages import MESSAGES
from auction.model import Event, Rejection, register_event
from auction.record import Recorded, event_to_dict

KIND = "webhook"
OUTBOX = "outbox"
#: Event type -> milestone name. Other modules add theirs with :func:`register_milestone`.
MILESTONES: dict[str, str] = {
    "LotOpened": "lot.opened", "LotClosed": "lot.closed", "LotAwarded": "lot.awarded",
    "LotFailed": "lot.failed", "LotCancelled": "lot.cancelled",
    "WinnerDefaulted": "winner.defaulted", "AwardedToRunnerUp": "lot.awarded_to_runner_up",
    "LotRelisted": "lot.relisted",
    "ResultNoticePublished": "notice.published", "ObjectionFiled": "objection.filed",
    "ObjectionAnswered": "objection.answered", "ConfirmationIssued": "confirmation.issued",
    "ConfirmationSigned": "confirmation.signed",
}
MESSAGES.update({
    "unknown_delivery": ("未找到该推送记录", "No such webhook delivery."),
})

#: Longest wait between two attempts, ms.
MAX_BACKOFF_MS = 300_000
FIRST_BACKOFF_MS = 1_000
#: Fields never sent out: where a bid came from.
_WITHHELD = frozenset({"ip", "device"})


def register_milestone(event_type: str, milestone: str) -> None:
    """Make every recorded event of ``event_type`` (a registered event's class name) the
    milestone ``milestone`` (``deposit.matched``...)."""
    if MILESTONES.setdefault(event_type, milestone) != milestone:
        raise ValueError(f"{event_type} is the milestone {MILESTONES[event_type]} already")


@register_event
@dataclass(frozen=True, slots=True, kw_only=True)
class MilestoneEmitted(Event):
    """A milestone emitted on purpose (``emit(milestone, payload)``)."""

    milestone: str
    payload: Mapping[str, Any] = field(default_factory=dict)


@register_event
@dataclass(frozen=True, slots=True, kw_only=True)
class DeliveryAttempted(Event):
    """One post of milestone ``key``: ``status`` the HTTP status (0: no answer), ``ok``
    for a 2xx."""

    key: str
    attempt: int
    ok: bool
    status: int
    error: str


@register_event
@dataclass(frozen=True, slots=True, kw_only=True)
class ResendRequested(Event):
    """Staff asked for the milestone to be sent again."""

    key: str
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Emit:
    milestone: str
    payload: Mapping[str, Any]
    actor: str


@dataclass(frozen=True, slots=True, kw_only=True)
class RecordAttempt:
    key: str
    ok: bool
    status: int
    error: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Resend:
    key: str
    reason: str
    actor: str


@dataclass(frozen=True)
class Delivery:
    """The deliveries of one milestone: attempts since the last resend request."""

    id: str
    key: str = ""
    attempts: int = 0
    delivered_at: int | None = None
    last_at: int | None = None
    last_status: int = 0
    last_error: str = ""
    total_attempts: int = 0

    @property
    def due(self) -> bool:
        return self.delivered_at is None


def backoff_ms(attempts: int) -> int:
    """The wait after ``attempts`` failed attempts (1 s, 2 s, 4 s ... at most 5 min)."""
    return int(min(FIRST_BACKOFF_MS * 2 ** max(attempts - 1, 0), MAX_BACKOFF_MS))


def next_attempt_at(delivery: Delivery) -> int:
    """When the milestone is to be posted next (0: at once)."""
    if delivery.last_at is None or delivery.attempts == 0:
        return 0
    return delivery.last_at + backoff_ms(delivery.attempts)


class OutboxDecider:
    """The ``outbox`` stream: milestones emitted on purpose."""

    kind = OUTBOX

    def initial(self, aggregate_id: str) -> int:
        return 0

    def decide(self, state: int, command: Emit, now: int) -> list[Event] | Rejection:
        if not command.milestone or len(command.milestone) > 64:
            return Rejection("invalid_input", "a milestone name of 1 to 64 characters")
        return [MilestoneEmitted(at=now, actor=command.actor, milestone=command.milestone,
                                 payload=dict(command.payload))]

    def evolve(self, state: int, event: Event) -> int:
        return state + 1


class DeliveryDecider:
    kind = KIND

    def initial(self, aggregate_id: str) -> Delivery:
        return Delivery(aggregate_id)

    def decide(self, state: Delivery, command: RecordAttempt | Resend,
               now: int) -> list[Event] | Rejection:
        if isinstance(command, Resend):
            if not command.reason.strip():
                return Rejection("reason_required", "say why it is sent again")
            if state.total_attempts == 0:
                return Rejection("unknown_delivery", "nothing was sent for this milestone")
            return [ResendRequested(at=now, actor=command.actor, key=state.key,
                                    reason=command.reason)]
        return [DeliveryAttempted(at=now, actor="system", key=command.key,
                                  attempt=state.attempts + 1, ok=command.ok,
                                  status=command.status, error=command.error)]

    def evolve(self, state: Delivery, event: Event) -> Delivery:
        if isinstance(event, ResendRequested):
            return replace(state, attempts=0, delivered_at=None)
        assert isinstance(event, DeliveryAttempted)
        return replace(state, key=event.key, attempts=event.attempt,
                       total_attempts=state.total_attempts + 1, last_at=event.at,
                       last_status=event.status, last_error=event.error,
                       delivered_at=event.at if event.ok else state.delivered_at)


OUTBOXES = OutboxDecider()
DELIVERIES = DeliveryDecider()


@dataclass(frozen=True)
class Milestone:
    """A milestone to send: ``key`` its place in the record, ``body`` what is posted."""

    key: str
    milestone: str
    at: int
    body: dict[str, Any]


def delivery_id(key: str) -> str:
    """The id of the delivery aggregate of milestone ``key`` (``:`` is not allowed in
    ids)."""
    return key.replace(":", ".")


def milestone_of(stream: str, record: Recorded) -> Milestone | None:
    """The milestone ``record`` of ``stream`` (a lot's id, or ``kind:id``) is, if any."""
    event = record.event
    key = f"{stream}:{record.seq}"
    if isinstance(event, MilestoneEmitted):
        name, payload = event.milestone, dict(event.payload)
    else:
        name = MILESTONES.get(type(event).__name__, "")
        if not name:
            return None
        payload = {k: v for k, v in event_to_dict(event).items() if k not in _WITHHELD}
    kind, _, aggregate = stream.rpartition(":")
    body = {"id": key, "milestone": name, "at": event.at, "stream": stream,
            "lot_id": aggregate if kind in ("", "confirmation", "result_notice") else None,
            "seq": record.seq, "hash": record.hash, "data": payload}
    return Milestone(key, name, event.at, body)


def signature(secret: bytes, timestamp: int, body: bytes) -> str:
    """``sha256=`` and the HMAC-SHA256 (hex) of ``timestamp.body`` with ``secret``: what
    the receiver recomputes to know the post is the center's."""
    mac = hmac.new(secret, str(timestamp).encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()
