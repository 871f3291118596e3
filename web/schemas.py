"""Every HTTP body and every WebSocket message, declared once as msgspec structs.

From these declarations come the validation of what clients send (:func:`decode_body`,
:func:`decode_message`, with the error codes of docs/protocol.md), the OpenAPI document
(:mod:`web.openapi`), the AsyncAPI document of the WebSocket protocol
(:mod:`web.asyncapi`) and the message tables of docs/protocol.md (:mod:`web.docs`).

What a schema cannot say stays with the rules: a lot's parameters are checked here key by
key (type, choices, bounds) and then parsed by the format's own parser
(:mod:`auction.params` and the format modules), which adds the rules across keys. This
module is the one place where the edge maps to the rules (:func:`lot_params`).
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal, Union, get_args

import msgspec
from msgspec import UNSET, Meta, Struct, UnsetType

from auction.clock import TIE_RULES
from auction.commit_reveal import SEALINGS
from auction.listing_timed import CAP_RULES, CONFIRM_MODES
from auction.lot import FORMATS, MAX_TEXT
from auction.messaging import KINDS as QUESTION_KINDS
from auction.money import CURRENCY_DECIMALS, MAX_WHOLE_DIGITS
from auction.multi_round import MAX_ROUNDS, MAX_TURN_S
from auction.params import (
    BELOW_MIN,
    DIRECTIONS,
    EXTEND_ON,
    IMPROVE_MODES,
    MAX_MIN_BIDDERS,
    MAX_MS,
    MAX_SECONDS,
    MAX_UNITS,
    PERCENT_PATTERN,
    PRICINGS,
    SHOW_COUNTS,
    STEP_ROUNDINGS,
    VISIBILITIES,
)
from auction.preemption import EXERCISE, MAX_HOLDERS
from auction.sealed import MAX_REVISIONS
from auction.sessions import MAX_STAGGER_S, MODES

# ----------------------------------------------------------------------- field types

#: Ends a pattern at the end of the text. Python's ``$`` also matches before a final
#: newline (msgspec searches with Python's ``re``); the lookahead refuses it, and reads
#: the same in the documents' ECMAScript patterns.
_END = r"$(?!\n)"
#: Largest whole number a client may send (milliseconds, sequence numbers): safe in
#: JavaScript.
MAX_INT = 2**53 - 1
#: Most lots in one page of ``GET /api/lots`` (and its default).
LOTS_PAGE = 500
#: Identifiers chosen by clients or generated (lots, sessions, bidders).
ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,63}" + _END
#: Free text: no control characters and not blank (blank: what Python's ``str.strip``
#: removes, spelled out since ``\s`` differs between Python and ECMAScript).
TEXT_PATTERN = (r"^[^\x00-\x1f\x7f]*"
                r"[^\x00-\x20\x7f\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"
                r"[^\x00-\x1f\x7f]*" + _END)
#: Most minor-unit digits of any currency the engine knows (amounts here are checked
#: against it; the lot's own currency is checked by the rules).
_DECIMALS = max(CURRENCY_DECIMALS.values())
_FRACTION = rf"(\.[0-9]{{1,{_DECIMALS}}})?"
#: An amount greater than zero, as a decimal string, at most
#: :data:`auction.money.MAX_WHOLE_DIGITS` digits before the point.
AMOUNT_PATTERN = (rf"^([1-9][0-9]{{0,{MAX_WHOLE_DIGITS - 1}}}{_FRACTION}"
                  rf"|0\.(?=[0-9]{{0,{_DECIMALS - 1}}}[1-9])[0-9]{{1,{_DECIMALS}}})" + _END)
#: An amount that may be zero (a deposit, a tier's ``from``).
AMOUNT_OR_ZERO_PATTERN = (rf"^(0|[1-9][0-9]{{0,{MAX_WHOLE_DIGITS - 1}}}){_FRACTION}"
                          + _END)


def _text(max_length: int = MAX_TEXT, description: str = "") -> Any:
    meta = Meta(min_length=1, max_length=max_length, pattern=TEXT_PATTERN,
                description=description or None)
    return Annotated[str, meta]


Id = Annotated[str, Meta(pattern=ID_PATTERN)]
Text = _text()
Ms = Annotated[int, Meta(ge=0, le=MAX_INT, description="Unix time in milliseconds")]
Seq = Annotated[int, Meta(ge=0, le=MAX_INT)]
Amount = Annotated[str, Meta(
    pattern=AMOUNT_PATTERN, examples=["1250000.00"],
    description="Decimal string in the lot's currency, greater than zero, at most its "
                f"decimals (CNY: 2, JPY: 0), at most {MAX_WHOLE_DIGITS} digits before the "
                "point (the money maximum); numbers and null are refused")]
ParamAmount = Annotated[str, Meta(
    pattern=AMOUNT_PATTERN, examples=["1250000.00"],
    description="Decimal string in the lot's currency, greater than zero, at most "
                f"{MAX_WHOLE_DIGITS} digits before the point (invalid_amount otherwise)")]
ParamAmountOrZero = Annotated[str, Meta(
    pattern=AMOUNT_OR_ZERO_PATTERN, examples=["0.00"],
    description="Decimal string in the lot's currency, zero or more, at most "
                f"{MAX_WHOLE_DIGITS} digits before the point (invalid_amount otherwise)")]
Percent = Annotated[str, Meta(
    pattern="^" + PERCENT_PATTERN + _END, examples=["1.5"],
    description="A percentage as a decimal string, above 0 and at most 100, at most four "
                "decimals (\"1.5\" is 1.5 %)")]
Reason = _text(description="Why (recorded with the event)")
OptionalReason = _text(description="Why (optional; recorded with the event when given)")
Message = dict[str, str]


def _choice(values: tuple[str, ...]) -> Any:
    return Literal.__getitem__(values)


def _int(low: int, high: int) -> Any:
    return Annotated[int, Meta(ge=low, le=high)]


Direction = _choice(DIRECTIONS)
Currency = _choice(tuple(CURRENCY_DECIMALS))
TieRule = _choice(TIE_RULES)
Seconds = _int(1, MAX_SECONDS)
SecondsOrZero = _int(0, MAX_SECONDS)
Instant = _int(0, MAX_MS)
Tick = _int(1, 24 * 3600)


#: The lot parameter ``on_default`` (auction/default.py), beside the format's own.
OnDefault = Annotated[Literal["runner_up", "relist"], Meta(description=(
    "what a winner's default leads to by the lot's rule (docs/after-the-auction.md): "
    "runner_up (the runner-up's deposit is held until the award is settled) or relist "
    "(a runner-up offer is refused); default: the host chooses when declaring it"))]
Units = Annotated[int, Meta(ge=1, le=MAX_UNITS, description=(
    "a multi-unit lot: how many identical units it sells (default 1; docs/protocol.md, "
    "Multi-unit lots)"))]
Pricing = Annotated[_choice(PRICINGS), Meta(description=(
    "how a multi-unit lot's winners pay: `pay_as_bid` (default), each its own price; "
    "`uniform`, all the lowest winning price"))]
MaxUnits = Annotated[int, Meta(ge=1, le=MAX_UNITS, description=(
    "a multi-unit lot: the most units one bid may ask for (default 1, at most `units`)"))]


class Closed(Struct, forbid_unknown_fields=True, omit_defaults=True):
    """A client object: unknown fields are refused."""


class Open(Struct, omit_defaults=True):
    """A server object: clients must ignore fields they do not know."""


# ----------------------------------------------------------------------- lot parameters
# One struct per format, keyed by the parameters its parser reads (``None``: absent, the
# format's default applies). The examples are the documents' and the tests' (a lot of
# every format is created from them).


class Tier(Closed):
    """From ``from`` on, the step is ``step`` or ``percent`` of the price improved on
    (exactly one of them)."""

    from_: ParamAmountOrZero = msgspec.field(name="from")
    step: ParamAmount | None = None
    percent: Percent | None = None


class ReserveEntry(Closed):
    """A reserve (reverse: an internal ceiling) entered after creation by a host, approved
    by a supervisor, sealed until the close (docs/protocol.md, Witnessed reserve)."""

    before_close_s: Annotated[int, Meta(ge=0, le=366 * 24 * 3600, description=(
        "entry and approval end this many seconds before the closing time planned when "
        "the lot opens; a pending entry then lapses"))]
class Preemption(Closed):
    """Pre-emptive purchase rights (优先购买权): the holders' bidder ids in order of
    priority (the first is priority 1) and the rules of exercise."""

    holders: Annotated[list[Id], Meta(min_length=1, max_length=MAX_HOLDERS, description=(
        "the bidder ids the holders will register under, priority 1 first"))]
    exercise: Annotated[_choice(EXERCISE), Meta(description=(
        "`during` (default): a holder may match the best price at any time while bids are "
        "taken; `at_end`: once bidding ends, the holders who outrank the best bidder are "
        "offered the final price for `window_s` seconds"))] | None = None
    window_s: Annotated[Seconds, Meta(description=(
        "exercise `at_end`: the window from the end of bidding (default 300 s)"))] | None = None


class EnglishParams(Closed):
    start_price: ParamAmount
    direction: Direction | None = None
    currency: Currency | None = None
    deposit: ParamAmountOrZero | None = None
    step: ParamAmount | None = None
    step_percent: Percent | None = None
    steps: Annotated[list[Tier], Meta(min_length=1)] | None = None
    step_round: _choice(STEP_ROUNDINGS) | None = None
    step_multiple: bool | None = None
    reserve: ParamAmount | None = None
    ceiling: ParamAmount | None = None
    max_jump_steps: _int(0, 1_000_000) | None = None
    confirm_above_steps: _int(0, 1_000_000) | None = None
    opens_at: Instant | None = None
    closes_at: Instant | None = None
    duration_s: Seconds | None = None
    extend_window_s: SecondsOrZero | None = None
    extend_s: SecondsOrZero | None = None
    extend_on: _choice(EXTEND_ON) | None = None
    max_closes_at: Instant | None = None
    visibility: _choice(VISIBILITIES) | None = None
    improve: _choice(IMPROVE_MODES) | None = None
    proxy: bool | None = None
    signatures: Annotated[Literal["off", "optional", "required"], Meta(description=(
        "whether bidders sign their actions (docs/protocol.md, Signed actions); "
        "default off"))] | None = None
    on_default: OnDefault | None = None
    restart_allowed: bool | None = None
    min_bidders: _int(1, MAX_MIN_BIDDERS) | None = None
    below_min: _choice(BELOW_MIN) | None = None
    show_counts: _choice(SHOW_COUNTS) | None = None
    reserve_entry: ReserveEntry | None = None
    preemption: Preemption | None = None
    units: Units | None = None
    pricing: Pricing | None = None
    max_units_per_bidder: MaxUnits | None = None


class DutchParams(Closed):
    start_price: ParamAmount
    step: ParamAmount
    tick_s: Tick
    direction: Direction | None = None
    currency: Currency | None = None
    deposit: ParamAmountOrZero | None = None
    opens_at: Instant | None = None
    floor: ParamAmount | None = None
    ceiling: ParamAmount | None = None
    signatures: Annotated[Literal["off", "optional", "required"], Meta(description=(
        "whether bidders sign their actions (docs/protocol.md, Signed actions); "
        "default off"))] | None = None
    on_default: OnDefault | None = None


class JapaneseParams(Closed):
    start_price: ParamAmount
    step: ParamAmount
    tick_s: Tick
    direction: Direction | None = None
    currency: Currency | None = None
    deposit: ParamAmountOrZero | None = None
    opens_at: Instant | None = None
    tie_rule: TieRule | None = None
    signatures: Annotated[Literal["off", "optional", "required"], Meta(description=(
        "whether bidders sign their actions (docs/protocol.md, Signed actions); "
        "default off"))] | None = None
    on_default: OnDefault | None = None


#: Who seals the bids (sealed) or the initial bids (multi_round), and the reveal window.
Sealing = Annotated[_choice(SEALINGS), Meta(description=(
    "`server` (default): the server keeps the sealed prices, withheld from every view "
    "until the opening; `bidder`: each bidder commits to a hash of its price and a "
    "salt it keeps, and reveals them at the opening (commit-reveal)"))]
RevealSeconds = Annotated[Seconds, Meta(description=(
    "sealing `bidder`: the reveal window after the opening (sealed) or the first pause "
    "(multi_round), default 600 s; a bid not revealed in it is void"))]


class SealedParams(Closed):
    direction: Direction | None = None
    currency: Currency | None = None
    deposit: ParamAmountOrZero | None = None
    start_price: ParamAmount | None = None
    reserve: ParamAmount | None = None
    ceiling: ParamAmount | None = None
    opens_at: Instant | None = None
    closes_at: Instant | None = None
    duration_s: Seconds | None = None
    revisions: _int(0, MAX_REVISIONS) | None = None
    tie_rule: TieRule | None = None
    signatures: Annotated[Literal["off", "optional", "required"], Meta(description=(
        "whether bidders sign their actions (docs/protocol.md, Signed actions); "
        "default off"))] | None = None
    on_default: OnDefault | None = None
    sealing: Sealing | None = None
    reveal_s: RevealSeconds | None = None
    units: Units | None = None
    pricing: Pricing | None = None
    max_units_per_bidder: MaxUnits | None = None


class Secondary(Closed):
    start: ParamAmountOrZero
    step: ParamAmount
    countdown_s: Seconds | None = None
    unit: Annotated[str, Meta(max_length=20)] | None = None


class ListingTimedParams(Closed):
    start_price: ParamAmount
    listing_ends_at: Instant
    step: ParamAmount | None = None
    step_percent: Percent | None = None
    step_round: _choice(STEP_ROUNDINGS) | None = None
    currency: Currency | None = None
    deposit: ParamAmountOrZero | None = None
    reserve: ParamAmount | None = None
    listing_opens_at: Instant | None = None
    confirm_s: Seconds | None = None
    confirm: _choice(CONFIRM_MODES) | None = None
    countdown_s: Seconds | None = None
    cap: ParamAmount | None = None
    cap_rule: _choice(CAP_RULES) | None = None
    cap_confirm_s: Seconds | None = None
    secondary: Secondary | None = None
    max_jump_steps: _int(0, 1_000_000) | None = None
    signatures: Annotated[Literal["off", "optional", "required"], Meta(description=(
        "whether bidders sign their actions (docs/protocol.md, Signed actions); "
        "default off"))] | None = None
    on_default: OnDefault | None = None
    confirm_above_steps: _int(0, 1_000_000) | None = None
    min_bidders: _int(1, MAX_MIN_BIDDERS) | None = None
    below_min: _choice(BELOW_MIN) | None = None
    show_counts: _choice(SHOW_COUNTS[:2]) | None = None
    preemption: Preemption | None = None


Coefficient = Annotated[str, Meta(pattern=r"^(0|[1-9][0-9]{0,5})(\.[0-9]{1,6})?" + _END)]


class MultiRoundParams(Closed):
    step: ParamAmount
    direction: Literal["reverse"] | None = None
    currency: Currency | None = None
    deposit: ParamAmountOrZero | None = None
    ceiling: ParamAmount | None = None
    opens_at: Instant | None = None
    rounds: _int(1, MAX_ROUNDS) | None = None
    turn_s: _int(1, MAX_TURN_S) | None = None
    first_pause_s: Seconds | None = None
    pause_s: _int(1, MAX_TURN_S) | None = None
    coefficients: dict[str, Coefficient] | None = None
    signatures: Annotated[Literal["off", "optional", "required"], Meta(description=(
        "whether bidders sign their actions (docs/protocol.md, Signed actions); "
        "default off"))] | None = None
    on_default: OnDefault | None = None
    sealing: Sealing | None = None
    reveal_s: RevealSeconds | None = None


#: The parameters of each format, by format name.
FORMAT_PARAMS: dict[str, type[Closed]] = {
    "english": EnglishParams, "dutch": DutchParams, "japanese": JapaneseParams,
    "sealed": SealedParams, "listing_timed": ListingTimedParams,
    "multi_round": MultiRoundParams,
}
#: One example of each format's parameters: the documents show it, and the tests create
#: a lot of every format from it.
FORMAT_EXAMPLES: dict[str, dict[str, Any]] = {
    "english": {"start_price": "1000000.00", "step": "10000.00", "duration_s": 3600,
                "deposit": "100000.00", "extend_window_s": 300, "extend_s": 300},
    "dutch": {"start_price": "1000.00", "step": "10.00", "tick_s": 5, "floor": "800.00",
              "deposit": "100.00"},
    "japanese": {"start_price": "1000.00", "step": "10.00", "tick_s": 10,
                 "deposit": "100.00"},
    "sealed": {"closes_at": 4102444800000, "deposit": "100.00", "revisions": 1},
    "listing_timed": {"start_price": "10000000.00", "step": "100000.00",
                      "listing_ends_at": 4102444800000, "deposit": "1000000.00",
                      "cap": "15000000.00", "cap_rule": "lottery"},
    "multi_round": {"step": "100.00", "ceiling": "50000.00", "rounds": 3,
                    "deposit": "1000.00"},
}
assert set(FORMAT_PARAMS) == set(FORMATS) == set(FORMAT_EXAMPLES), "a format without schema"


def lot_params(params: Struct) -> dict[str, Any]:
    """The parameters as the rules read them (a JSON object; absent keys left out)."""
    out: dict[str, Any] = msgspec.to_builtins(params)
    return out


# ----------------------------------------------------------------------- HTTP bodies


class CreateSession(Closed):
    name: _text(200)
    session_id: Id | None = None
    mode: _choice(MODES) | None = None
    stagger_s: Annotated[int, Meta(
        ge=0, le=MAX_STAGGER_S,
        description="seconds between the closes of consecutive lots (staggered sessions "
                    "only)")] | None = None


class _CreateLot(Closed, tag_field="format", kw_only=True):
    session_id: _text(64)
    title: Text
    lot_id: Annotated[str, Meta(pattern=ID_PATTERN,
                                description="generated (L-XXXXXXXX) when absent")] | None = None
    reason: OptionalReason | None = None


def _create_lot(name: str, params: type[Struct]) -> type[_CreateLot]:
    # The body of one format: its ``format`` tag and its own parameters.
    return msgspec.defstruct(f"CreateLot_{name}", [("params", params)], bases=(_CreateLot,),
                             tag=name, module=__name__)


CREATE_LOT: dict[str, type[_CreateLot]] = {
    name: _create_lot(name, params) for name, params in FORMAT_PARAMS.items()}
#: The body of ``POST /api/lots``: a tagged union on ``format``.
CreateLot: Any = Union.__getitem__(tuple(CREATE_LOT.values()))


class RegisterBidder(Closed):
    bidder_id: Id
    name: Text
    reason: OptionalReason | None = None


class ConfirmDeposit(Closed):
    amount: Amount
    account: Text
    reason: OptionalReason | None = None


class Empty(Closed):
    """No fields (an empty body reads as this)."""


class WithReason(Closed):
    reason: Reason


class OptionalReasonBody(Closed):
    reason: OptionalReason | None = None


class SignConfirmationBody(Closed):
    document_sha256: Annotated[str, Meta(
        pattern="^[0-9a-f]{64}$",
        description="SHA-256 (hex) of the confirmation PDF the winner signs: the one issued")]


class PaymentBody(Closed):
    """Whose payment notice: a multi-unit lot has one per winner."""

    reason: OptionalReason | None = None
    bidder_no: Annotated[str, Meta(max_length=32, description=(
        "a multi-unit lot: the winner whose payment notice it is (default: the first); "
        "a lot of one unit has one winner"))] | None = None


class IssueConfirmationBody(Closed):
    """Which confirmation to issue: a multi-unit lot has one per winner."""

    bidder_no: Annotated[str, Meta(max_length=32, description=(
        "a multi-unit lot: the winner whose confirmation is issued (default: the first "
        "winner without one yet); a lot of one unit has one winner"))] | None = None


class ConfirmationView(Open):
    """The transaction confirmation (成交确认书) of a lot (docs/after-the-auction.md)."""

    lot_id: str
    status: Annotated[str, Meta(description="none, issued or signed")]
    bidder_no: str | None = None
    amount: str | None = None
    deposit: str | None = None
    currency: str | None = None
    issued_at: int | None = None
    sign_by: int | None = None
    signed_at: int | None = None
    document_sha256: str | None = None
    head_seq: int | None = None
    head_hash: str | None = None
    pdf: Annotated[str | None, Meta(description="where the signed PDF is served")] = None


class DefaultBody(Closed):
    """The winner defaulted (docs/after-the-auction.md): its deposit is forfeited and the
    lot goes to the runner-up, or is relisted as a new lot."""

    reason: Reason
    then: Annotated[str, Meta(description="runner_up or relist, as the lot's rule says")]
    start_price: Annotated[Amount | None, Meta(
        description="relist: the new lot's start price (no higher than this lot's, not "
                    "below its reserve; reverse lots the other way)")] = None
    duration_s: Annotated[Seconds | None, Meta(
        description="relist: how long the new lot's bidding lasts (default: this lot's "
                    "duration_s, else an hour)")] = None


class ChangeAwardBody(Closed):
    reason: Reason
    effect: Annotated[str, Meta(description="suspended, annulled, or reinstated (after a "
                                            "suspension)")]


class PublishNoticeBody(Closed):
    trade_kind: Annotated[str, Meta(
        pattern="^[a-z][a-z0-9_-]{0,31}$",
        description="the kind of trade, whose publicity period the center sets "
                    "(setting publicity_kinds); other kinds: publicity_days")] = "default"


class ObjectionBody(Closed):
    text: Annotated[str, Meta(min_length=1, max_length=4000,
                              description="the objection (异议): what is wrong and why")]


class AnswerObjectionBody(Closed):
    outcome: Annotated[str, Meta(description="dismissed or upheld")]
    reason: Annotated[str, Meta(min_length=1, max_length=4000,
                                description="the answer, published without the objector")]
    effect: Annotated[str | None, Meta(
        description="upheld only: suspended (暂停) or annulled (撤销): what becomes of the "
                    "award")] = None


class ResultNoticeView(Open):
    """The result notice of a lot and the objections to it (docs/after-the-auction.md):
    the public sees every answer, never who objected nor what it wrote; staff see all;
    a bidder sees its own objections' text."""

    lot_id: str
    published: bool
    award: Annotated[str, Meta(description="stands, suspended or annulled")]
    objections: list[dict[str, Any]]
    trade_kind: str | None = None
    working_days: int | None = None
    starts_at: int | None = None
    ends_at: int | None = None
    issuer: str | None = None
    contact: str | None = None


class Extend(Closed):
    reason: Reason
    closes_at: Ms


class BankNotification(Closed):
    """Money that arrived, as the bank notifies it (docs/bank.md), signed in the headers
    ``X-Bank-Timestamp`` and ``X-Bank-Signature``."""

    transaction_id: Annotated[str, Meta(pattern=ID_PATTERN,
                                        description="the bank's transaction id (流水号): "
                                                    "the same id twice changes nothing")]
    reference: _text(description="the payment reference (子账号 / 缴款码), or the "
                                 "transfer's 附言 holding it")
    payer_account: _text(64, "the account the money came from (付款账号)")
    payer_name: _text(description="the name of that account (付款户名)")
    amount: Amount
    value_time: Annotated[Ms, Meta(description="the bank's time of the transfer (交易时间), "
                                               "Unix ms: it decides whether it was on time")]
    currency: Literal["CNY"] = "CNY"


class StatementImport(Closed):
    """A bank file (CSV, UTF-8 or GBK; docs/bank.md) to import: a statement, or the
    bank's result file of refunds."""

    content_base64: Annotated[str, Meta(min_length=1, description="the file, base64")]
    filename: Text | None = None


class RefundConfirmation(Closed):
    transaction_id: Annotated[str, Meta(pattern=ID_PATTERN,
                                        description="the refund's id (退款编号: the "
                                                    "arrival it pays back)")]
    bank_transaction_id: _text(64, "the bank's transaction id of the refund")


class RefundConfirmations(Closed):
    confirmations: Annotated[list[RefundConfirmation], Meta(min_length=1, max_length=1000)]


class Suspend(Closed):
    """Pause (suspend) or cancel (terminate) a lot, with an optional public notice."""

    reason: Reason
    notice: _text(description="The public notice shown on the board and in every room "
                              "(recorded with the event)") | None = None


class ReserveBody(Closed):
    """A host enters the lot's reserve (internal ceiling of a reverse lot); the server
    draws the salt and records only the commitment for everyone to see."""

    amount: Amount
    reason: OptionalReason | None = None


class ApproveReserveBody(Closed):
    """A supervisor approves the pending entry, naming its commitment (as shown)."""

    commitment: Annotated[str, Meta(pattern="^[0-9a-f]{64}$", description=(
        "the commitment of the pending entry (sha256 hex, from the lot's "
        "reserve_entry.commitment)"))]
    reason: OptionalReason | None = None


class Announcement(Closed):
    """A host's announcement to the lot's bidders (shown in every room and on the board)."""

    text: _text(description="The announcement (recorded)")
    reason: OptionalReason | None = None


class AskHostBody(Closed):
    """A bidder's question or objection to the host, with its bidder token."""

    kind: _choice(QUESTION_KINDS)
    text: _text(description="The question or objection (recorded; staff and the asker "
                            "see it, other bidders and the public never)")


class Answer(Closed):
    text: _text(description="The answer (recorded)")
    public: Annotated[bool, Meta(description=(
        "show the answer and the question to everyone (never the asker); default: the "
        "asker and staff only"))] = False
    reason: OptionalReason | None = None


class Asked(Open):
    lot_id: Id
    seq: Annotated[int, Meta(description="the question's sequence number (answers name it)")]


class Resume(Closed):
    reason: Reason
    restart: Annotated[bool, Meta(description=(
        "restart bidding from the start price, every earlier bid void (only where the "
        "lot's `restart_allowed`; `restart_not_allowed` otherwise); default: continue "
        "from the last valid price"))] = False


# ----------------------------------------------------------------------- HTTP answers


class ErrorDetail(Open):
    code: str
    message: Message
    detail: str


class Error(Open):
    error: ErrorDetail


class Session(Open):
    session_id: Id
    name: str
    created_at: Ms
    created_by: str
    mode: _choice(MODES)
    stagger_s: int


class Sessions(Open):
    sessions: list[Session]


class Health(Open):
    status: Literal["ok"]
    lots: int
    server_time: Ms


class Readiness(Open):
    status: Literal["ready", "not_ready"]
    reasons: dict[str, str]
    quarantined: dict[str, str]
    lots: int
    server_time: Ms


class ReceiptKey(Open):
    """The public key of the server's receipts."""

    alg: Literal["ed25519"]
    key: Annotated[str, Meta(description="the raw 32-byte public key, base64")]
    message: Annotated[str, Meta(description="the version of the signed receipt message")]


class ServerTime(Open):
    server_time: Ms
    #: The center's time zone (IANA name): the pages read and show date-times in it.
    time_zone: str


LotStatus = Literal["draft", "scheduled", "open", "paused", "closed", "awarded", "failed",
                    "cancelled"]


class LotView(Open):
    """A lot as the caller may see it (auction.views.snapshot): the public view hides
    identities, the reserve and, under rank or blind visibility, prices; a bidder's view
    adds ``you``; the staff view adds ``reserve``, ``register`` and ``ranking``."""

    lot_id: Id
    session_id: str
    title: str
    format: str
    status: LotStatus
    seq: int
    params: dict[str, Any]
    #: None while the lot's ``show_counts`` hides them from the caller.
    bidders: int | None
    bid_count: int | None
    opens_at: int | None = None
    closes_at: int | None = None
    max_closes_at: int | None = None
    paused_at: int | None = None
    best: str | None = None
    leader_no: str | None = None
    next_min: str | None = None
    outcome: dict[str, Any] | None = None
    #: The public notice of a suspension (while paused) or termination (once cancelled).
    notice: str | UnsetType = UNSET
    you: dict[str, Any] | None | UnsetType = UNSET
    reserve: str | None | UnsetType = UNSET
    #: A lot with ``reserve_entry``: the entry's status, deadline and commitment (the
    #: amount once revealed at the close); staff also see who entered and approved it.
    reserve_entry: dict[str, Any] | UnsetType = UNSET
    register: list[dict[str, Any]] | UnsetType = UNSET
    ranking: list[str] | UnsetType = UNSET


class Lots(Open):
    lots: list[LotView]
    next: Annotated[str | None, Meta(description=(
        "the cursor of the next page (give it as ?after=); null on the last page. A page "
        "may hold fewer lots than the limit and still have a next one"))] = None


class BidderPass(Open):
    lot_id: Id
    bidder_id: Id
    bidder_no: Annotated[str, Meta(description="random, unique in the lot")]
    token: Annotated[str, Meta(description="signed bidder token: valid for this lot only")]
    expires_at: Ms
    room_url: Annotated[str, Meta(description="the bidder room, token in the fragment",
                                  examples=["/room/L-1A2B3C4D#token=b1..."])]
    deposit_reference: Annotated[str, Meta(
        description="the bidder's own deposit reference (保证金子账号): pay the deposit "
                    "from the bidder's own account with it as 附言 (docs/bank.md)")] | \
        UnsetType = UNSET


class ActionResult(Open):
    lot_id: Id
    seq: int
    events: Annotated[list[dict[str, Any]],
                      Meta(description="the events the action caused (staff view)")]
    state: LotView


class Bid(Open):
    seq: int
    at: Ms
    bidder_id: Id
    bidder_no: str
    amount: Amount
    ip: str
    device: str
    ref: str


class Bids(Open):
    lot_id: Id
    bids: list[Bid]


class RecordedEvent(Open):
    seq: int
    event: Annotated[dict[str, Any],
                     Meta(description="canonical event dict; amounts in minor units")]
    hash: Annotated[str, Meta(description="sha256 chain, hex")]


class Events(Open):
    lot_id: Id
    events: list[RecordedEvent]
    last_seq: int


class Export(Open):
    format_version: Literal[1]
    lot_id: Id
    events: list[RecordedEvent]
    outcome: dict[str, Any]
    exported_at: Ms | UnsetType = UNSET
    chain: dict[str, Any] | UnsetType = UNSET


class Flag(Open):
    check: Literal["shared_address", "shared_device", "shared_account", "lockstep",
                   "identical_prices", "fixed_gap", "cover_bidding", "winner_rotation"]
    scope: Literal["lot", "lots"]
    level: Literal["high", "medium"]
    lots: list[Id]
    bidders: list[dict[str, Any]]
    evidence: dict[str, Any]
    message: Message


class LotCollusion(Open):
    lot_id: Id
    flags: list[Flag]


class Collusion(Open):
    lots: dict[str, list[Flag]]
    across: list[Flag]
    checked: int
    thresholds: dict[str, Any]


Outcome = Literal["matched", "unknown_reference", "duplicate", "late", "foreign_payer",
                  "short", "over", "lot_ended"]


class NotificationResult(Open):
    transaction_id: str
    reference: Annotated[str, Meta(description="the reference matched (\"\" for none)")]
    outcome: Outcome
    message: Message
    duplicate: Annotated[bool, Meta(description="received before: nothing changed")]


class Transfer(Open):
    """An arrival in the bank ledger and what became of it."""

    transaction_id: str
    reference: str
    lot_id: str
    party_id: str
    purpose: str
    payer_account: str
    payer_name: str
    amount: str
    value_at: Ms
    received_at: Ms
    source: Literal["notification", "statement", "staff"]
    outcome: Outcome
    message: Message
    status: Literal["held", "exported", "refunded", "applied", "forfeited", "paid"]
    batch_id: str
    bank_transaction_id: str


class StatementResult(Open):
    rows: int
    new: Annotated[int, Meta(description="arrivals not received before")]
    skipped: Annotated[int, Meta(description="rows of money going out")]
    transfers: list[Transfer]


class RefundsConfirmed(Open):
    confirmed: list[Transfer]
    #: The SHA-256 of the bank's result file, kept in the object store (a file imported).
    file_sha256: str | None = None


#: Answers that are JSON objects whose fields are described in prose (docs/records.md).
Document = dict[str, Any]


# ----------------------------------------------------------------------- the trade

#: A unified social credit code or a resident identity number (check characters are
#: checked by the rules: invalid_party_code).
PartyCode = Annotated[str, Meta(pattern=r"^[0-9A-Z]{17}[0-9A-Z]" + _END,
                                examples=["91350100M000100Y43"])]
Password = Annotated[str, Meta(min_length=1, max_length=128)]
Otp = Annotated[str, Meta(pattern=r"^[0-9]{6}" + _END, description="the 6-digit TOTP code")]
Email = Annotated[str, Meta(max_length=254, pattern=r"^[^@\x00-\x20]+@[^@\x00-\x20]+" + _END)]
Phone = Annotated[str, Meta(pattern=r"^\+?[0-9][0-9 -]{4,19}" + _END)]
#: Long text (a notice's terms): line breaks allowed.
Prose = Annotated[str, Meta(min_length=1, max_length=20_000)]
Sha256 = Annotated[str, Meta(pattern=r"^[0-9a-f]{64}" + _END)]


class NewAccount(Closed):
    party: Literal["organisation", "person"]
    name: Text
    code: PartyCode
    contact_person: Text
    phone: Phone
    email: Email
    password: Annotated[str, Meta(min_length=10, max_length=128, description=(
        "at least 10 characters of at least three kinds (lower case, upper case, digits, "
        "others), not holding the code"))]


class AccountCreated(Open):
    account_id: Id
    totp_secret: Annotated[str, Meta(description="base32, shown once: enter it in an "
                                                 "authenticator app")]
    totp_uri: Annotated[str, Meta(description="otpauth:// URI of the same secret")]


class Login(Closed):
    code: PartyCode
    password: Password
    otp: Otp


class LoggedIn(Open):
    account_id: Id
    name: str
    csrf: Annotated[str, Meta(description="send it as X-CSRF-Token with every account "
                                          "action")]


class PasskeyAnswer(Open):
    """What the browser's ``navigator.credentials.create`` or ``.get`` answered, as
    ``PublicKeyCredential.toJSON()`` gives it (base64url fields; fields a browser adds
    are ignored)."""

    id: Annotated[str, Meta(max_length=1400)]
    rawId: Annotated[str, Meta(max_length=1400)]  # noqa: N815 (WebAuthn's name)
    type: Literal["public-key"]
    response: Annotated[dict[str, Any], Meta(description=(
        "clientDataJSON with attestationObject (a registration) or authenticatorData, "
        "signature and userHandle (a login)"))]
    name: Annotated[str, Meta(max_length=100, pattern=TEXT_PATTERN, description=(
        "a registration: the passkey's label on the account page"))] | None = None


class PasskeyView(Open):
    credential_id: str
    name: str
    added_at: Ms
    last_used_at: Ms | None = None


class Passkeys(Open):
    passkeys: list[PasskeyView]


class DocumentView(Open):
    name: str
    sha256: Sha256
    size: int
    content_type: str
    at: Ms


class ApplicationView(Open):
    application_id: Id
    notice_id: Id
    lot_id: Id
    account_id: Id
    name: str
    status: Annotated[str, Meta(description="submitted, approved, rejected or withdrawn")]
    prequalification: bool
    consortium: list[str]
    contact: dict[str, Any]
    documents: list[DocumentView]
    deposit_required: str
    deposit_until: Ms | None
    deposit: str | None
    deposit_source: str
    deposit_account: str
    #: The application's own deposit reference (保证金子账号) to pay to, where the lot
    #: takes a deposit (docs/bank.md); null where it takes none.
    deposit_reference: str | None
    eligible: bool
    barred: Annotated[bool, Meta(description="the applicant or a consortium member is on "
                                             "the barred list now (not admitted while so)")]
    bidder_no: str
    post_review: str
    reason: str
    barred_at_award: Annotated[str, Meta(description=(
        "the last step of the award (result_notice, confirmation, payment) refused "
        "because the winner or a consortium member was on the barred list then (409 "
        "winner_barred); \"\" if none was. Staff annul the award or declare a default"))]
    lot_status: str
    result: Annotated[str, Meta(description="once the lot has an outcome, for an admitted "
                                            "applicant: won, lost, failed or cancelled")]
    room_url: str | None = None
    deposit_arrivals: Annotated[list[Transfer], Meta(description=(
        "what the bank reported paid to the deposit reference, each with its outcome "
        "(matched, or the reason it is flagged and refunded: late, short, foreign_payer, "
        "duplicate, ...)"))] = []


class NoticeLot(Open):
    """A lot as a notice page and the review queue show it."""

    lot_id: Id
    title: str
    status: str
    format: str
    deposit: str
    currency: str
    opens_at: Annotated[Ms | None, Meta(description=(
        "when the lot opens by itself: the notice's bidding time once the notice is "
        "published (an amendment moving it reschedules the lot)"))]
    min_bidders: Annotated[int, Meta(description="the eligible bidders the lot needs to open")]
    qualified: Annotated[int, Meta(description=(
        "applications eligible now (qualified where pre-qualification applies, terms "
        "accepted, deposit counted), against min_bidders"))]
    outcome: Annotated[str | None, Meta(description="awarded, failed or cancelled once "
                                                    "the lot has an outcome")] = None


class Applications(Open):
    applications: list[ApplicationView]
    lots: Annotated[list[NoticeLot], Meta(description="the lots applied for (?lot_id= "
                                                      "filters, ?status= does not), with "
                                                      "their qualified count")] = []


class AccountPage(Open):
    account_id: Id
    party: str
    name: str
    code: str
    contact: dict[str, Any]
    csrf: str
    applications: list[ApplicationView]
    passkeys: list[PasskeyView] = []


class NoticeBody(Closed):
    title: Text
    kind: Literal["land", "mining", "state_property", "procurement", "other"]
    apply_from: Ms
    apply_until: Ms
    deposit_until: Ms
    bidding_at: Ms
    terms: Prose
    lot_ids: Annotated[list[Id], Meta(min_length=1, max_length=50)]
    documents: Annotated[list[Text], Meta(max_length=20)] = []
    prequalification: bool = True
    consortium: bool = False


class NewNotice(NoticeBody):
    notice_id: Id | None = None
    reason: OptionalReason | None = None


class NoticeAmendment(NoticeBody, kw_only=True):
    reason: Reason


class QuestionView(Open):
    no: int
    asked_at: Ms
    text: str
    answer: str
    answered_at: Ms | None


class NoticeView(Open):
    notice_id: Id
    status: str
    phase: Annotated[str, Meta(description="announced, applying, closed, bidding or "
                                           "withdrawn")]
    title: str
    kind: str
    apply_from: Ms
    apply_until: Ms
    deposit_until: Ms
    bidding_at: Ms
    terms: str
    lot_ids: list[str]
    documents: list[str]
    prequalification: bool
    consortium: bool
    published_at: Ms
    periods_from: Ms
    amendments: int
    flags: list[str]
    questions: list[QuestionView]
    lots: list[NoticeLot]


class Notices(Open):
    notices: list[NoticeView]


QuestionText = _text(2000)


class Question(Closed):
    text: QuestionText


class Apply(Closed):
    accept_terms: bool
    consortium: Annotated[list[Text], Meta(max_length=10)] = []


class Review(Closed):
    approve: bool
    reason: OptionalReason | None = None


class StaffDeposit(Closed):
    amount: Amount
    account: Annotated[str, Meta(min_length=1, max_length=100, pattern=TEXT_PATTERN,
                                 description="the payer's account, as on the bank's slip")]
    reason: Reason


# ----------------------------------------------------------------------- WebSocket: client

_REF_TEXT = "the client's id of this message, echoed in the reply or error"
Ref = _text(64, _REF_TEXT)
LotRef = _text(64)
ClientRef = Ref | None


class ClientMessage(Closed, tag_field="type"):
    """A message a client sends."""


class Subscribe(ClientMessage, tag="subscribe"):
    """Watch a lot, or change how you watch it."""

    lot_id: LotRef
    after_seq: Annotated[Seq, Meta(description=(
        "A number: first receive every event with `seq > after_seq` (0: the whole "
        "history). Null or absent: the current state only, then live events."))
    ] | None = None
    token: _text(1024, "A bidder token of this lot (role `bidder`) or a staff token "
                       "(role `host` or `supervisor`). Absent: role `public`.") | None = None
    device: _text(128, "The client's device fingerprint, recorded with each bid for the "
                       "supervisors' collusion checks. Default: `ua:` + a hash of the "
                       "User-Agent.") | None = None
    ref: ClientRef = None
    heads: Annotated[bool, Meta(description=(
        "true: every `update` with events also carries `head`, the chain hash after its "
        "last event (what public witnesses keep, `auction witness`). Absent: no heads."
    ))] | None = None


class Unsubscribe(ClientMessage, tag="unsubscribe"):
    """Stop watching a lot."""

    lot_id: LotRef
    ref: ClientRef = None


class Signature(Closed):
    """A bidder's signature of its action (docs/protocol.md, Signed actions)."""

    seen: Annotated[Seq, Meta(description="the lot's last sequence number the bidder saw")]
    nonce: Annotated[str, Meta(pattern=r"^[A-Za-z0-9_-]{8,64}$", description=(
        "8 to 64 letters, digits, - or _, never used before by the bidder in this lot"))]
    sig: Annotated[str, Meta(pattern=r"^[A-Za-z0-9+/=_-]{1,512}$", description=(
        "base64 of the signature (r ‖ s) over the canonical message"))]


_SIG_FIELD = Annotated[Signature, Meta(description=(
    "the bidder's signature, required where the lot's `signatures` is `required` or the "
    "bidder enrolled a key"))]


class PlaceBid(ClientMessage, tag="bid"):
    """A price, by the bidder of the subscription's token."""

    lot_id: Annotated[LotRef, Meta(
        description="the lot must be subscribed with a bidder token")]
    amount: Annotated[Amount, Meta(description=(
        "at most the currency's decimals (CNY 2, JPY 0), no sign, no exponent, no "
        "spaces, not zero (`rejected` `invalid_amount` otherwise)"))]
    ref: _text(64, "the client's id of this bid, echoed in `ack`/`rejected` and recorded "
                   "with the bid")
    confirmed: Annotated[bool, Meta(description=(
        "the bidder confirmed this amount: needed for a bid more than the lot's "
        "`confirm_above_steps` steps past its next acceptable price (`rejected` "
        "`confirm_required` otherwise); recorded with the bid"))] = False
    units: Annotated[int, Meta(ge=1, le=MAX_UNITS, description=(
        "how many units the price is for, in a multi-unit lot: at most its "
        "`max_units_per_bidder`, never fewer than the bidder's last bid asked for "
        "(`rejected` `bad_units`, `units_reduced` otherwise); default 1"))] = 1
    sig: _SIG_FIELD | None = None


class Act(ClientMessage, tag="act"):
    """A bidder's action other than a price (the format says which it takes)."""

    lot_id: Annotated[LotRef, Meta(description="subscribed with a bidder token, as for "
                                               "`bid`")]
    act: _text(32, "the action's name")
    ref: _text(64, "as for `bid`")
    amount: Annotated[Amount, Meta(description=(
        "only for actions that carry an amount (`proxy`, `secondary`, `reveal`); same "
        "rules as `bid.amount`"))] | None = None
    commitment: Annotated[str, Meta(max_length=64, description=(
        "`commit` of a bidder-sealed sealed lot: lowercase hex SHA-256 of the compact JSON "
        "`[lot_id, bidder_no, amount in minor units as a string, salt]`; the amount and "
        "the salt stay with the bidder"))] | None = None
    salt: Annotated[str, Meta(max_length=128, description=(
        "`reveal`: the salt of the commitment (32 to 128 lowercase hex digits); "
        "`accept_cap`: an optional random contribution to the draw, same form"))] | None = None
    sig: _SIG_FIELD | None = None


class Enrol(ClientMessage, tag="enrol"):
    """Enrol the public key the bidder's actions on this lot are signed with."""

    lot_id: Annotated[LotRef, Meta(description="subscribed with a bidder token, as for "
                                               "`bid`")]
    alg: Annotated[Literal["ecdsa-p256", "sm2"], Meta(description="the key's algorithm")]
    key: Annotated[str, Meta(min_length=1, max_length=8192, pattern=r"^[A-Za-z0-9+/=_-]+$",
                             description=("ecdsa-p256: base64 SubjectPublicKeyInfo; sm2: hex "
                                          "of the certificate's public point"))]
    ref: _text(64, "as for `bid`")
    certificate: Annotated[str, Meta(max_length=8192, description=(
        "sm2: the bidder's X.509 certificate (PEM)"))] | None = None


class Ping(ClientMessage, tag="ping"):
    """Measure the clock offset."""

    client_time: Annotated[int, Meta(ge=0, le=MAX_INT, description="the client's clock, ms")]
    ref: ClientRef = None


CLIENT_MESSAGES: tuple[type[ClientMessage], ...] = (Subscribe, Unsubscribe, PlaceBid, Act,
                                                   Enrol, Ping)
AnyClientMessage = Subscribe | Unsubscribe | PlaceBid | Act | Enrol | Ping


# ----------------------------------------------------------------------- WebSocket: server


class ServerMessage(Open, tag_field="type"):
    """A message the server sends."""


class Welcome(ServerMessage, tag="welcome"):
    """First message of every connection."""

    server_time: Ms
    protocol: int
    max_frame: Annotated[int, Meta(description="largest frame the server reads, bytes")]


class Subscribed(ServerMessage, tag="subscribed"):
    """The subscription is made; the catch-up follows."""

    lot_id: str
    role: Literal["public", "bidder", "host", "supervisor"]
    bidder_no: Annotated[str | None, Meta(
        description="the bidder's number in this lot (null for other roles)")]
    ref: str | None = None
    owner: Annotated[str | None, Meta(description=(
        "scale-out backend: the WebSocket address of the process that owns the lot, when "
        "it is not this one; the client may connect there (its commands sent here are "
        "forwarded to the owner either way)"))] = None


class Update(ServerMessage, tag="update"):
    """Events of the catch-up and the whole snapshot after them (`state`), or events of
    one live commit and what changed in the receiver's snapshot (`delta`, `gone`)."""

    lot_id: str
    events: Annotated[list[dict[str, Any]], Meta(
        description="in `seq` order, gap-free, each redacted for the receiver's audience")]
    server_time: Ms
    state: Annotated[dict[str, Any] | None, Meta(
        description="catch-up: the lot's snapshot for the receiver's audience after these "
                    "events")] = None
    delta: Annotated[dict[str, Any] | None, Meta(
        description="live: path -> new value of what changed in the receiver's snapshot "
                    "since the event before the first of these (`auction/deltas.py`)")] = None
    gone: Annotated[list[str] | None, Meta(
        description="live: paths of keys the snapshot no longer has")] = None
    head: Annotated[str | None, Meta(
        description="only for a subscription with `heads: true`: the chain hash (sha256, "
                    "hex) of the last of `events`, the head of the lot's record at that "
                    "`seq`, which public witnesses keep (`auction witness`); absent when "
                    "`events` is empty")] = None


class You(ServerMessage, tag="you"):
    """A bidder's own standing."""

    lot_id: str
    seq: int
    you: Annotated[dict[str, Any] | None, Meta(
        description="null if the bidder is no longer registered")]


class Ack(ServerMessage, tag="ack"):
    """The bid or action is durably recorded as event `seq` at server time `at`."""

    lot_id: str
    ref: str
    seq: int
    at: Ms
    amount: Amount | None = None
    act: str | None = None
    hash: Annotated[str, Meta(description="the chain hash of event `seq`")] | None = None
    receipt: Annotated[str, Meta(description=(
        "the server's Ed25519 signature (base64) over the root of a hash tree of the "
        "receipts it sent together, each leaf the lot, seq, hash, amount and act of one "
        "(docs/records.md, Receipts); the key is at /.well-known/auction-receipt-key"))
    ] | None = None
    receipt_path: Annotated[list[str], Meta(description=(
        "the path from this receipt's leaf to the signed root: each step the sibling's "
        "SHA-256 (hex) after L (on the left) or R (on the right); empty when the "
        "receipt was signed alone"))] | None = None


class Rejected(ServerMessage, tag="rejected"):
    """A bid or action refused; nothing changed."""

    lot_id: str
    ref: str
    code: str
    message: Message
    detail: str


class ErrorMessage(ServerMessage, tag="error"):
    """A message the protocol cannot take; nothing changed, the connection stays."""

    code: str
    message: Message
    detail: str
    ref: str | None = None


class Pong(ServerMessage, tag="pong"):
    """Answer to `ping`: `offset_ms = server_time - client_time`."""

    client_time: int
    server_time: Ms
    offset_ms: int
    ref: str | None = None


class Unsubscribed(ServerMessage, tag="unsubscribed"):
    """No update of that lot follows."""

    lot_id: str
    ref: str | None = None


SERVER_MESSAGES: tuple[type[ServerMessage], ...] = (
    Welcome, Subscribed, Update, You, Ack, Rejected, ErrorMessage, Pong, Unsubscribed)
AnyServerMessage = (Welcome | Subscribed | Update | You | Ack | Rejected | ErrorMessage | Pong
                    | Unsubscribed)


def tag_of(struct: type[Struct]) -> str:
    """The ``type`` (or ``format``) value of a tagged struct."""
    tag = struct.__struct_config__.tag
    assert isinstance(tag, str)
    return tag


# ----------------------------------------------------------------------- decoding


class Invalid(Exception):
    """A client object that does not have the expected shape: ``code`` and ``detail``
    (which field, what is wrong)."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail


#: Error codes of fields whose bad values are not a malformed request but bad input of a
#: kind with its own code (``None``: the request's own code). Keyed by the first field of
#: the error's path; ``params.`` covers every key inside a lot's parameters.
FIELD_CODES: dict[str, str] = {
    "amount": "invalid_amount",
    "params.": "invalid_params",
    "format": "invalid_params",
    "mode": "invalid_params",
    "stagger_s": "invalid_params",
}
_PATH = re.compile(r"^(?P<what>.*?)(?: - at `\$(?P<path>[^`]*)`)?$", re.S)
_MISSING = re.compile(r"^Object (?:missing required|contains unknown) field `(?P<field>[^`]+)`")


def _located(error: msgspec.ValidationError) -> tuple[str, str, bool]:
    """``(what, path, unknown)`` of an error: ``path`` like ``.params.step`` or ``[0]``
    (``""`` for the object itself); a missing or unknown field is located at that field
    (``unknown`` says which)."""
    match = _PATH.match(str(error))
    assert match is not None
    what, path = match["what"], match["path"] or ""
    field = _MISSING.match(what)
    if field:
        path = f"{path}.{field['field']}"
    return what, path, bool(field) and "unknown" in what


def _amount_keys(cls: type[msgspec.Struct], seen: set[type[msgspec.Struct]]) -> set[str]:
    """The keys of ``cls`` (and of the structs inside it) whose values are amounts."""
    seen.add(cls)
    keys: set[str] = set()
    for f in msgspec.structs.fields(cls):
        kinds, todo = set(), [f.type]
        while todo:  # the type and every type inside it (unions, lists, Annotated)
            kind = todo.pop()
            if kind not in kinds:
                kinds.add(kind)
                todo.extend(get_args(kind))
        if kinds & {ParamAmount, ParamAmountOrZero}:
            keys.add(f.encode_name)
        for kind in kinds:
            if isinstance(kind, type) and issubclass(kind, msgspec.Struct) and kind not in seen:
                keys |= _amount_keys(kind, seen)
    return keys


#: Keys of a lot's parameters that hold amounts: a value of the wrong shape there is
#: ``invalid_amount`` (its key the field), as the rules' own parsing says.
PARAM_AMOUNT_KEYS = frozenset().union(*(_amount_keys(c, set())
                                        for c in FORMAT_PARAMS.values()))


def _at(raw: Any, parts: list[str]) -> Any:
    """The value of the decoded JSON ``raw`` at a path's ``parts`` (None if absent)."""
    for part in parts:
        name, _, index = part.partition("[")
        raw = raw.get(name) if isinstance(raw, dict) else None
        if index:
            i = int(index.rstrip("]"))
            raw = raw[i] if isinstance(raw, list) and i < len(raw) else None
    return raw


def _code_of(path: str, raw: Any, default: str, unknown: bool) -> str:
    parts = path.split(".")
    if len(parts) < 2:
        return default
    field = parts[1]
    if len(parts) > 2 and f"{field}." in FIELD_CODES:
        if (field == "params" and not unknown
                and parts[-1].partition("[")[0] in PARAM_AMOUNT_KEYS
                and _at(raw, parts[1:]) is not None):
            return "invalid_amount"
        return FIELD_CODES[f"{field}."]
    code = FIELD_CODES.get(field)
    if code is None or unknown:  # a field the object does not have: malformed
        return default
    value = raw.get(field) if isinstance(raw, dict) else None
    if field == "format" and not isinstance(value, str):
        return default  # not a format name at all: a malformed request
    return code


def invalid(error: msgspec.ValidationError, raw: Any, code: str) -> Invalid:
    """The :class:`Invalid` of a validation ``error`` of ``raw`` (the decoded JSON,
    looked at only on this slow path), with the code of :data:`FIELD_CODES` or
    ``code``."""
    what, path, unknown = _located(error)
    field = path.lstrip(".") or "the object"
    return Invalid(_code_of(path, raw, code, unknown), f"{field}: {what}" if path else what)


def _raw(data: bytes) -> Any:
    """``data`` decoded as plain JSON, to explain ``error``; a text that is not JSON at
    all (a wrong type can be seen before the end of the text) is ``bad_json``."""
    try:
        return _JSON.decode(data)
    except msgspec.DecodeError as exc:
        raise Invalid("bad_json", str(exc)) from None


_JSON = msgspec.json.Decoder()
_BODY_DECODERS: dict[Any, msgspec.json.Decoder[Any]] = {}


def decode_body(data: bytes, schema: Any) -> Any:
    """An HTTP body (``bytes``; empty reads as ``{}``) as ``schema``; raises
    :class:`Invalid` with ``bad_json``, ``bad_request`` or a field's code."""
    if not data.strip():
        data = b"{}"
    decoder = _BODY_DECODERS.get(schema)
    if decoder is None:
        decoder = _BODY_DECODERS[schema] = msgspec.json.Decoder(schema)
    try:
        return decoder.decode(data)
    except msgspec.ValidationError as exc:
        raise invalid(exc, _raw(data), "bad_request") from None
    except msgspec.DecodeError as exc:
        raise Invalid("bad_json", str(exc)) from None


_MESSAGE_DECODER = msgspec.json.Decoder(AnyClientMessage)
MESSAGE_TYPES = tuple(tag_of(m) for m in CLIENT_MESSAGES)


def decode_message(data: bytes) -> AnyClientMessage:
    """A client's WebSocket frame as its message; raises :class:`Invalid` with
    ``bad_json``, ``bad_message``, ``unknown_type`` or a field's code (``amount``:
    ``invalid_amount``)."""
    try:
        return _MESSAGE_DECODER.decode(data)
    except msgspec.ValidationError as exc:
        raw = _raw(data)
        _, path, _ = _located(exc)
        if path == ".type" and isinstance(raw, dict) and isinstance(raw.get("type"), str):
            raise Invalid("unknown_type", f"unknown message type {raw['type'][:40]!r}"
                          ) from None
        raise invalid(exc, raw, "bad_message") from None
    except msgspec.DecodeError as exc:
        raise Invalid("bad_json", str(exc)) from None


def with_amount(data: bytes) -> tuple[AnyClientMessage, Any]:
    """A bid or action whose amount is bad, read without its amount: the message (with a
    placeholder amount) and the amount as sent, so that it is answered with ``rejected``
    ``invalid_amount`` once the bidder is known. Raises :class:`Invalid` if anything
    else in it is bad too."""
    raw = _raw(data)
    assert isinstance(raw, dict)
    try:
        return msgspec.convert({**raw, "amount": "1"}, AnyClientMessage), raw.get("amount")
    except msgspec.ValidationError as exc:
        raise invalid(exc, raw, "bad_message") from None


def ref_in(data: bytes) -> str | None:
    """The ``ref`` of a raw frame if it is a JSON object with a valid one."""
    try:
        raw = _JSON.decode(data)
    except msgspec.DecodeError:
        return None
    ref = raw.get("ref") if isinstance(raw, dict) else None
    try:
        return msgspec.convert(ref, Ref) if ref is not None else None
    except msgspec.ValidationError:
        return None
