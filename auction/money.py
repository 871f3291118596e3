"""Exact money: decimal strings outside, integer minor units inside.

No float ever touches an amount. ``parse_amount("1250000.00", 2) == 125000000``.
"""

import re

from auction.errors import InvalidAmount

#: Minor-unit digits of the currencies the engine knows. Unknown currencies are refused.
CURRENCY_DECIMALS: dict[str, int] = {"CNY": 2, "USD": 2, "EUR": 2, "HKD": 2, "JPY": 0}
#: Most digits an amount may have before the point (amounts stay below 10**18 units).
MAX_WHOLE_DIGITS = 18

_PLAIN_DECIMAL = re.compile(r"(0|[1-9][0-9]*)(?:\.([0-9]+))?")


def parse_amount(text: object, decimals: int = 2, *, allow_zero: bool = False) -> int:
    """Return ``text`` as integer minor units.

    ``text`` must be a ``str`` holding a plain decimal number: ASCII digits, no leading
    zero, at most one point with digits on both sides, no sign, no exponent, no more
    fractional digits than ``decimals``, at most :data:`MAX_WHOLE_DIGITS` whole digits.
    Anything else (floats, ints, negatives, NaN, "1e5", "1.005" for CNY) raises
    :class:`InvalidAmount`. Zero is refused unless ``allow_zero``.
    """
    if not isinstance(text, str):
        raise InvalidAmount("amount must be a decimal string such as \"1250000.00\"")
    match = _PLAIN_DECIMAL.fullmatch(text)
    if match is None:
        raise InvalidAmount(f"amount {text[:40]!r} is not a plain decimal number")
    whole: str = match.group(1)
    frac: str = match.group(2) or ""
    if len(whole) > MAX_WHOLE_DIGITS:
        raise InvalidAmount(f"amount has more than {MAX_WHOLE_DIGITS} digits before the point")
    if len(frac) > decimals:
        raise InvalidAmount(f"amount {text!r} has more than {decimals} decimal places")
    scale: int = 10**decimals
    value = int(whole) * scale + int(frac.ljust(decimals, "0") or "0")
    if value == 0 and not allow_zero:
        raise InvalidAmount("amount must be greater than zero")
    return value


def format_amount(minor: int, decimals: int = 2) -> str:
    """Return integer minor units as a decimal string with exactly ``decimals`` places."""
    if decimals == 0:
        return str(minor)
    sign = "-" if minor < 0 else ""
    whole, frac = divmod(abs(minor), 10**decimals)
    return f"{sign}{whole}.{frac:0{decimals}d}"
