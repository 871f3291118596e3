"""Exact money: decimal strings outside, integer minor units inside.

No float ever touches an amount. ``parse_amount("1250000.00", 2) == 125000000``.

The money maximum: an amount has at most :data:`MAX_WHOLE_DIGITS` (15) digits before the
point, so the largest amount is ``999999999999999.99`` (CNY) or ``999999999999999``
(JPY), :func:`max_minor` minor units. Every amount of every layer stays within it: the
edge refuses more (``invalid_amount``), the rules refuse more in commands and parameters
and never derive more (a next price, an automatic bid, a clock level), so every stored
amount fits a signed 64-bit integer (SQLite INTEGER, Postgres ``bigint``, orjson, Redis,
JSON) with room to spare; the pages hold amounts as BigInt.
"""

import functools
import re
from typing import TypeGuard

from auction.errors import InvalidAmount

#: Minor-unit digits of the currencies the engine knows. Unknown currencies are refused.
CURRENCY_DECIMALS: dict[str, int] = {"CNY": 2, "USD": 2, "EUR": 2, "HKD": 2, "JPY": 0}
#: Most digits an amount may have before the point: the money maximum.
MAX_WHOLE_DIGITS = 15
#: Most digits any known currency has after the point.
MAX_DECIMALS = max(CURRENCY_DECIMALS.values())
#: The largest amount in minor units of any currency (999999999999999.99 CNY): far below
#: 2**63, so every store and JSON library holds it exactly.
MAX_MINOR = 10 ** (MAX_WHOLE_DIGITS + MAX_DECIMALS) - 1
assert MAX_MINOR * 64 < 2**63, "the money maximum must stay far below 64 bits"
#: A positive amount as the protocol takes it (for the OpenAPI document and the pages):
#: 1 to :data:`MAX_WHOLE_DIGITS` whole digits without a leading zero and up to
#: :data:`MAX_DECIMALS` decimals, or a positive amount below 1. The currency's own
#: decimals are checked by :func:`parse_amount`.
AMOUNT_PATTERN = (rf"^([1-9][0-9]{{0,{MAX_WHOLE_DIGITS - 1}}}(\.[0-9]{{1,{MAX_DECIMALS}}})?"
                  rf"|0\.(?!0+$)[0-9]{{1,{MAX_DECIMALS}}})$")

#: Why :func:`within` refused an amount of a command (the detail of ``invalid_amount``).
AMOUNT_RANGE = "amount must be a whole number of minor units from 1 to the money maximum"

_PLAIN_DECIMAL = re.compile(r"(0|[1-9][0-9]*)(?:\.([0-9]+))?")


def max_minor(decimals: int) -> int:
    """The largest amount, in minor units of a currency with ``decimals`` decimals."""
    largest: int = 10 ** (MAX_WHOLE_DIGITS + decimals) - 1
    return largest


def within(amount: object, decimals: int) -> TypeGuard[int]:
    """Whether ``amount`` is an amount the rules may take or make: an ``int`` (not a
    ``bool``) from 1 to :func:`max_minor`."""
    return (isinstance(amount, int) and not isinstance(amount, bool)
            and 0 < amount <= max_minor(decimals))


def parse_amount(text: object, decimals: int = 2, *, allow_zero: bool = False) -> int:
    """Return ``text`` as integer minor units.

    ``text`` must be a ``str`` holding a plain decimal number: ASCII digits, no leading
    zero, at most one point with digits on both sides, no sign, no exponent, no more
    fractional digits than ``decimals``, at most :data:`MAX_WHOLE_DIGITS` whole digits.
    Anything else (floats, ints, None, negatives, NaN, "1e5", "1.005" for CNY, amounts
    above the maximum) raises :class:`InvalidAmount`. Zero is refused unless
    ``allow_zero``.
    """
    if not isinstance(text, str):
        raise InvalidAmount("amount must be a decimal string such as \"1250000.00\"")
    match = _PLAIN_DECIMAL.fullmatch(text)
    if match is None:
        raise InvalidAmount(f"amount {text[:40]!r} is not a plain decimal number")
    whole: str = match.group(1)
    frac: str = match.group(2) or ""
    if len(whole) > MAX_WHOLE_DIGITS:
        raise InvalidAmount(f"amount is above the maximum ({MAX_WHOLE_DIGITS} digits "
                            "before the point)")
    if len(frac) > decimals:
        raise InvalidAmount(f"amount {text!r} has more than {decimals} decimal places")
    scale: int = 10**decimals
    value = int(whole) * scale + int(frac.ljust(decimals, "0") or "0")
    if value == 0 and not allow_zero:
        raise InvalidAmount("amount must be greater than zero")
    return value


@functools.lru_cache(maxsize=4096, typed=True)
def format_amount(minor: int, decimals: int = 2) -> str:
    """Return integer minor units as a decimal string with exactly ``decimals`` places.
    (Remembered: a commit formats the same few amounts once per view it makes.)"""
    if decimals == 0:
        return str(minor)
    sign = "-" if minor < 0 else ""
    whole, frac = divmod(abs(minor), 10**decimals)
    return f"{sign}{whole}.{frac:0{decimals}d}"


_CN_DIGITS = "零壹贰叁肆伍陆柒捌玖"
_CN_UNITS = ("", "拾", "佰", "仟")


def _capital_under_10k(n: int) -> str:
    """1..9999 in capital numerals, zeros inside folded into one 零, none at the end."""
    out = ""
    zero = False
    for i, ch in enumerate(f"{n:04d}"):
        digit = int(ch)
        if digit == 0:
            zero = out != ""
        else:
            if zero:
                out += "零"
            out += _CN_DIGITS[digit] + _CN_UNITS[3 - i]
            zero = False
    return out


def _capital_whole(n: int) -> str:
    """A whole number ≥ 1 in capital numerals: 万 every 4 digits, 亿 every 8."""
    for size, unit in ((10**8, "亿"), (10**4, "万")):
        if n >= size:
            hi, lo = divmod(n, size)
            out = _capital_whole(hi) + unit
            if lo == 0:
                return out
            if lo < size // 10:
                out += "零"
            return out + _capital_whole(lo)
    return _capital_under_10k(n)


def capital_amount(minor: int, decimals: int = 2) -> str:
    """``minor`` units (≥ 0) of a currency with ``decimals`` (0 to 2) decimals in Chinese
    capital numerals as written on cheques and confirmations (大写): 103005 →
    "壹仟零叁拾元零伍分", 4500000000 → "肆仟伍佰万元整". The same text as the pages'
    ``capitalAmount`` (web/static/money.js); ValueError for a negative amount or more
    than 2 decimals."""
    if minor < 0 or not 0 <= decimals <= 2:
        raise ValueError("capital numerals are written for amounts ≥ 0 of 0 to 2 decimals")
    whole, frac = divmod(minor, 10**decimals)
    jiao, fen = divmod(frac * 10 ** (2 - decimals), 10)
    out = _capital_whole(whole) + "元" if whole > 0 else ""
    if jiao == 0 and fen == 0:
        return f"{out or '零元'}整"
    if jiao > 0:
        out += _CN_DIGITS[jiao] + "角"
    elif whole > 0:
        out += "零"
    return out + (_CN_DIGITS[fen] + "分" if fen > 0 else "整")
