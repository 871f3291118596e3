"""Strict reading of JSON objects from clients: unknown fields, missing fields and wrong
types are refused with :class:`Invalid` naming the field. Shared by the HTTP API
(code ``bad_request``) and the WebSocket protocol (code ``bad_message``).

Amounts are not read here: they go through :func:`auction.money.parse_amount` with the
lot's currency so that floats and over-precise strings get ``invalid_amount``.
"""

import re
from collections.abc import Iterable
from typing import Any

#: Identifiers chosen by clients or generated (lots, sessions, bidders).
ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:@-]{0,63}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
#: Largest integer a client may send (milliseconds, sequence numbers): safe in JavaScript.
MAX_INT = 2**53 - 1


class Invalid(Exception):
    """A client object that does not have the expected shape."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail


class Reader:
    """Reads the fields of one JSON object; :meth:`done` refuses any field left unread.

    ``code`` is the error code raised for every shape error.
    """

    def __init__(self, data: object, code: str, *, what: str = "body") -> None:
        if not isinstance(data, dict):
            raise Invalid(code, f"{what} must be a JSON object")
        self.data: dict[str, Any] = data
        self.code = code
        self._left = set(data)

    def _fail(self, detail: str) -> Invalid:
        return Invalid(self.code, detail)

    def raw(self, key: str, *, required: bool = False) -> Any:
        """The value of ``key`` as sent (None when absent and not required)."""
        self._left.discard(key)
        if key not in self.data or self.data[key] is None:
            if required:
                raise self._fail(f"{key} is required")
            return None
        return self.data[key]

    def text(self, key: str, *, required: bool = False, max_len: int = 500,
             pattern: re.Pattern[str] | None = None, blank: bool = False) -> str | None:
        """A string of at most ``max_len`` characters, without control characters;
        ``pattern`` must match it whole; blank strings only with ``blank``."""
        value = self.raw(key, required=required)
        if value is None:
            return None
        if not isinstance(value, str):
            raise self._fail(f"{key} must be a string")
        if len(value) > max_len:
            raise self._fail(f"{key} is longer than {max_len} characters")
        if not blank and not value.strip():
            raise self._fail(f"{key} must not be empty")
        if pattern is not None and not pattern.fullmatch(value):
            raise self._fail(f"{key} has characters or a length that are not allowed")
        if pattern is None and _CONTROL.search(value):
            raise self._fail(f"{key} contains control characters")
        return value

    def integer(self, key: str, *, required: bool = False, low: int = 0,
                high: int = MAX_INT) -> int | None:
        """A whole JSON number (not a boolean, not a float) from ``low`` to ``high``."""
        value = self.raw(key, required=required)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            raise self._fail(f"{key} must be a whole number")
        if not low <= value <= high:
            raise self._fail(f"{key} must be from {low} to {high}")
        return value

    def obj(self, key: str, *, required: bool = False) -> dict[str, Any] | None:
        value = self.raw(key, required=required)
        if value is None:
            return None
        if not isinstance(value, dict):
            raise self._fail(f"{key} must be a JSON object")
        return value

    def ignore(self, keys: Iterable[str]) -> None:
        """Accept ``keys`` without reading them."""
        self._left.difference_update(keys)

    def done(self) -> None:
        """Refuse the object if it has a field no one read."""
        if self._left:
            raise self._fail(f"unknown field {sorted(self._left)[0]!r}")
