"""Identifiers of the parties to a trade, with their check characters.

* The unified social credit code (统一社会信用代码) of an organisation, GB 32100-2015:
  18 characters of ``0-9`` and ``ABCDEFGHJKLMNPQRTUWXY`` (no I, O, Z, S, V); the last is
  a check character, base 31, weights ``3^i mod 31``.
* The resident identity number (公民身份号码) of a person, GB 11643-1999: 17 digits (6 of
  the address, 8 of the birth date, 3 of a sequence) and an ISO 7064 MOD 11-2 check
  character (``0-9`` or ``X``).

Pure: the birth date is checked as a date, not against today.
"""

from __future__ import annotations

import datetime as dt

USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"

PARTY_KINDS = ("organisation", "person")


def uscc_check_char(first17: str) -> str:
    """The check character of the first 17 characters of a unified social credit code."""
    total = sum(USCC_CHARS.index(c) * w for c, w in zip(first17, _USCC_WEIGHTS, strict=True))
    return USCC_CHARS[(31 - total % 31) % 31]


def is_uscc(code: str) -> bool:
    """Whether ``code`` is a well-formed unified social credit code with its check
    character right (upper case only, as issued)."""
    if len(code) != 18 or any(c not in USCC_CHARS for c in code):
        return False
    return uscc_check_char(code[:17]) == code[17]


def id_check_char(first17: str) -> str:
    """The check character of the first 17 digits of a resident identity number."""
    total = sum(int(c) * w for c, w in zip(first17, _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11]


def is_resident_id(number: str) -> bool:
    """Whether ``number`` is an 18-character resident identity number: digits, a real
    birth date, and its check character right (``X`` upper case)."""
    if len(number) != 18 or not number[:17].isdigit() or not number[:17].isascii():
        return False
    try:
        dt.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return False
    return id_check_char(number[:17]) == number[17]


def party_code_problem(kind: str, code: str) -> str:
    """Why ``code`` is not a valid identifier of a party of ``kind`` (``""`` when it is)."""
    if kind == "organisation":
        return "" if is_uscc(code) else "not a valid unified social credit code"
    if kind == "person":
        return "" if is_resident_id(code) else "not a valid resident identity number"
    return f"kind must be one of {', '.join(PARTY_KINDS)}"
