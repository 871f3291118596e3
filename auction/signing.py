"""Bidders' signatures over their actions: the canonical message, the algorithms and the
checks the rules make before deciding a signed action.

A lot's parameter ``signatures`` says whether its bidders sign: ``off`` (the default:
signatures are neither asked for nor recorded), ``optional`` (a bidder that enrolled a key
signs every action, one that did not may act unsigned) or ``required`` (every action is
signed, and a bidder must enrol a key first). A bidder enrols one key per lot
(:class:`~auction.model.EnrollKey`, recorded as :class:`~auction.model.KeyEnrolled`); a new
key replaces it only while none of its actions was signed, or after staff revoked its
tokens (a lost device: :class:`~auction.model.RevokeTokens` is recorded with a reason).

A signed action carries ``signed = {"seen": n, "nonce": "...", "sig": "..."}``: ``seen``
is the lot's sequence number the bidder last saw, ``nonce`` a text the bidder never used
before in this lot, ``sig`` the signature (base64) over :func:`message`: the compact,
key-sorted UTF-8 JSON of the lot, the bidder's number, the action, its amount (integer
minor units, as a string, or null), ``seen``, ``nonce``, the action's own further fields
and the version ``"v": "auction-action/1"``. The rules refuse an action whose signature
is missing where required (``signature_required``), whose bidder has no key (``no_key``),
which does not verify (``bad_signature``), whose nonce was used before or whose ``seen``
is beyond the lot's last event (``replayed_signature``). A signed action's first event
keeps ``signed``; every other signed field is in that event or the lot's record, so
that :func:`auction.verify.verify`, deciding the action again, checks the signature again.

The rules core does no cryptography of its own: the algorithms are registered
(:func:`register`) by whoever runs the rules (the server and ``auction verify`` register
ECDSA P-256 and SM2 from :mod:`engine.signatures`). Verifying a signature is a pure
function of bytes; an algorithm that is not registered verifies nothing
(``bad_signature``, ``bad_key``).

Every bidder action is signable: a command type is made signable by :func:`signable`,
which names its action, its amount and its further fields (see docs/design.md).
"""

import re
from collections.abc import Callable, Container, Mapping
from dataclasses import dataclass
from typing import Any

from auction.errors import InvalidParams
from auction.model import Act, Event, PlaceBid, Rejection
from auction.record import canonical_json
from auction.state import Bidder, LotState

MODES = ("off", "optional", "required")
VERSION = "auction-action/1"
#: A nonce: 8 to 64 letters, digits, ``-`` or ``_``.
_NONCE = re.compile(r"[A-Za-z0-9_-]{8,64}")
#: A signature as text: base64, at most this long (a DER or raw signature is far shorter).
_SIG = re.compile(r"[A-Za-z0-9+/=_-]{1,512}")
MAX_KEY = 8192
#: The message's encoder: the record's canonical one, made once.
_encode = canonical_json


@dataclass(frozen=True, slots=True)
class Algorithm:
    """A signature algorithm: ``check_key(key, certificate)`` says why a key cannot be
    enrolled (None when it can); ``verify(key, certificate, message, sig)`` whether
    ``sig`` (base64 text) signs ``message`` under it. Both pure functions of their
    arguments."""

    name: str
    check_key: Callable[[str, str], str | None]
    verify: Callable[[str, str, bytes, str], bool]


ALGORITHMS: dict[str, Algorithm] = {}


def register(algorithm: Algorithm) -> None:
    """Make ``algorithm`` known to the rules (again: the last registration holds)."""
    ALGORITHMS[algorithm.name] = algorithm


#: Per signable command type: ``(action, amount, further fields)`` of a command.
_SIGNABLE: dict[type[Any], Callable[[Any], tuple[str, int | None, Mapping[str, str]]]] = {}


def signable(command_type: type[Any],
             fields: Callable[[Any], tuple[str, int | None, Mapping[str, str]]]) -> None:
    """Make ``command_type`` (a bidder action with ``bidder_id`` and ``signed``) signable:
    ``fields(command)`` gives its action's name, its amount and its further fields."""
    _SIGNABLE[command_type] = fields


#: The further fields of an ``Act`` that are signed when it carries them: a commitment
#: (``commit``) and a salt (``reveal``, a contribution to a draw).
ACT_FIELDS = ("commitment", "salt")


def _act_fields(command: Act) -> dict[str, str]:
    return {name: value for name in ACT_FIELDS
            if isinstance(value := getattr(command, name), str) and value}


# A multi-unit lot's bid for more than one unit signs its number of units too.
signable(PlaceBid, lambda c: ("bid", c.amount,
                              {"units": str(c.units)} if c.units != 1 else {}))
signable(Act, lambda c: (c.act, c.amount, _act_fields(c)))


def parse_mode(params: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """The ``signatures`` mode of a lot's parameters and the parameters without it (the
    format parses the rest). Raises :class:`InvalidParams` for an unknown mode."""
    rest = dict(params)
    mode = rest.pop("signatures", None)
    if mode is None:
        return "off", rest
    if mode not in MODES:
        raise InvalidParams(f"signatures must be one of {', '.join(MODES)}", "signatures")
    return str(mode), rest


def message(lot_id: str, bidder_no: str, action: str, amount: int | None, seen: int,
            nonce: str, fields: Mapping[str, str] | None = None) -> bytes:
    """The exact bytes a bidder signs for one action (see the module's docstring)."""
    body: dict[str, Any] = dict(fields or {})
    body.update({"v": VERSION, "lot": lot_id, "bidder_no": bidder_no, "action": action,
                 "amount": None if amount is None else str(amount), "seen": seen,
                 "nonce": nonce})
    return _encode(body).encode()


def message_of(state: LotState, bidder: Bidder, command: Any) -> bytes:
    """The message ``command`` (a signable action whose ``signed`` is well formed) signs."""
    action, amount, fields = _SIGNABLE[type(command)](command)
    return message(state.lot_id, bidder.bidder_no, action, amount, command.signed["seen"],
                   command.signed["nonce"], fields)


def _malformed(signed: object) -> str | None:
    if not isinstance(signed, Mapping) or set(signed) != {"seen", "nonce", "sig"}:
        return "a signature is an object of seen, nonce and sig"
    seen, nonce, sig = signed["seen"], signed["nonce"], signed["sig"]
    if isinstance(seen, bool) or not isinstance(seen, int) or seen < 0:
        return "seen is the lot's sequence number the bidder saw"
    if not isinstance(nonce, str) or not _NONCE.fullmatch(nonce):
        return "the nonce is 8 to 64 letters, digits, - or _"
    if not isinstance(sig, str) or not _SIG.fullmatch(sig):
        return "the signature is base64 text"
    return None


def check(state: LotState, bidder: Bidder, command: Any) -> Rejection | None:
    """Why the rules refuse ``command`` (a signable action of ``bidder``) for its
    signature, or None when it may be decided."""
    signed = command.signed
    if signed is None:
        if state.signatures == "required" or bidder.key is not None:
            return Rejection("signature_required", "this lot's actions are signed"
                             if state.signatures == "required" else
                             "the bidder enrolled a key: its actions are signed")
        return None
    if bidder.key is None:
        return Rejection("no_key", "enrol a public key before signing")
    refused = _refused_unverified(state, bidder, signed)
    if refused is not None:
        return refused
    algorithm = ALGORITHMS.get(bidder.key.alg)
    if algorithm is None or not algorithm.verify(
            bidder.key.key, bidder.key.certificate, message_of(state, bidder, command),
            signed["sig"]):
        return Rejection("bad_signature", "the signature does not verify under the "
                                          "bidder's key")
    return None


def _refused_unverified(state: LotState, bidder: Bidder, signed: Any) -> Rejection | None:
    """Why :func:`check` refuses a signed action of ``bidder`` (who has a key) before it
    verifies the signature: its form, a ``seen`` beyond the lot, a nonce used before."""
    problem = _malformed(signed)
    if problem is not None:
        return Rejection("bad_signature", problem)
    if signed["seen"] > state.version:
        return Rejection("replayed_signature", f"seen {signed['seen']} is beyond the lot's "
                                               f"last event {state.version}")
    if signed["nonce"] in bidder.nonces:
        return Rejection("replayed_signature", "the nonce was used before")
    return None


def verification(state: LotState, command: Any, algorithms: Container[str] | None = None
                 ) -> tuple[Algorithm, str, str, bytes, str] | None:
    """The verification :func:`check` makes of ``command`` if it is decided on ``state``:
    ``(algorithm, key, certificate, message, sig)``, or None when it makes none there (an
    unsigned action, a lot that does not sign, a bidder without a key, an action refused
    before it is verified, an algorithm not registered, or not among ``algorithms`` when
    they are given). A verification is a pure function of those bytes, so whoever runs
    the rules may make it ahead, elsewhere (the engine: in threads, off the event loop),
    and remember the outcome for :func:`check` (see ``engine.signatures``)."""
    signed = getattr(command, "signed", None)
    bidder_id = getattr(command, "bidder_id", None)
    if (type(command) not in _SIGNABLE or state.signatures == "off" or signed is None
            or not isinstance(bidder_id, str)):
        return None
    bidder = state.bidders.get(bidder_id)
    if (bidder is None or bidder.key is None
            or (algorithms is not None and bidder.key.alg not in algorithms)
            or _refused_unverified(state, bidder, signed) is not None):
        return None
    algorithm = ALGORITHMS.get(bidder.key.alg)
    if algorithm is None:
        return None
    return (algorithm, bidder.key.key, bidder.key.certificate,
            message_of(state, bidder, command), signed["sig"])


def enrol_problem(state: LotState, bidder: Bidder, alg: object, key: object,
                  certificate: object) -> Rejection | None:
    """Why ``bidder`` may not enrol this key now, or None."""
    if state.signatures == "off":
        return Rejection("not_supported", "this lot's actions are not signed")
    if bidder.key is not None and bidder.signed and bidder.token_gen <= bidder.key.token_gen:
        return Rejection("key_in_use", "the bidder signed with its key: a new one is "
                                       "enrolled after staff revoke its tokens")
    if not all(isinstance(v, str) and len(v) <= MAX_KEY for v in (alg, key, certificate)):
        return Rejection("bad_key", f"alg, key and certificate are text of at most {MAX_KEY}")
    algorithm = ALGORITHMS.get(str(alg))
    if algorithm is None:
        return Rejection("bad_key", f"unknown algorithm {alg!r}; known: "
                                    f"{', '.join(sorted(ALGORITHMS))}")
    problem = algorithm.check_key(str(key), str(certificate))
    return None if problem is None else Rejection("bad_key", problem)


def note(state: LotState, event: Event) -> None:
    """Apply the ``signed`` of ``event`` (the event of a signed action): its nonce is
    used, and its bidder (the event's ``bidder_id``, else its actor) has signed."""
    signed = event.signed
    assert signed is not None
    bidder = (state.bidders.get(getattr(event, "bidder_id", ""))
              or state.bidders[state.numbers[event.actor]])
    bidder = state.changing(bidder.bidder_id)
    bidder.nonces.add(signed["nonce"])
    bidder.signed += 1
