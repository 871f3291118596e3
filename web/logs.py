"""The server's logs: text or JSON lines on standard error, each line carrying the
correlation ids of the request or message being handled, and one access line per HTTP
request.

The ids live in context variables, set where a request or a WebSocket message is
handled: ``request_id`` (every HTTP request, the WebSocket's upgrade included: taken
from a well-formed ``X-Request-Id`` header, else made here, and returned in the
response's ``X-Request-Id``), ``conn_id`` (a WebSocket connection, the id the
connections log uses), ``lot_id`` (the route's or the message's lot) and ``ref`` (the
client's reference of the message). Whatever logs while they are set (the handlers, the
engine's code called from them) carries them; tasks that serve every client (a lot's
writer, the store's group commit) run in a context of their own.

The access line (logger ``auction.access``) gives the method, the path without its query
string (a query could carry a secret; tokens travel in headers and messages, which are
never logged), the status, the duration in ms and the client's address. A WebSocket's
access line is written when it closes: status 101, its duration the connection's.
"""

import contextvars
import logging
import re
import secrets
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import orjson
from aiohttp import web

from web.config import LOG_FORMATS, LOG_LEVELS
from web.keys import SETTINGS
from web.limits import client_address

REQUEST_ID: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id",
                                                                        default=None)
CONN_ID: contextvars.ContextVar[str | None] = contextvars.ContextVar("conn_id", default=None)
LOT_ID: contextvars.ContextVar[str | None] = contextvars.ContextVar("lot_id", default=None)
REF: contextvars.ContextVar[str | None] = contextvars.ContextVar("ref", default=None)
#: The correlation ids, by the name each line gives them.
CONTEXT = (("request_id", REQUEST_ID), ("conn_id", CONN_ID), ("lot_id", LOT_ID),
           ("ref", REF))
CONTEXT_NAMES = tuple(name for name, _ in CONTEXT)
#: The fields of an access line beyond the correlation ids.
ACCESS_FIELDS = ("method", "path", "status", "duration_ms", "remote")
#: An ``X-Request-Id`` taken from the request (a proxy's, say); anything else is replaced.
_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")
HEADER = "X-Request-Id"

access_log = logging.getLogger("auction.access")


class ContextFilter(logging.Filter):
    """Copies the correlation ids of the current context onto every record (an id given
    as ``extra`` wins)."""

    def filter(self, record: logging.LogRecord) -> bool:
        for name, var in CONTEXT:
            if getattr(record, name, None) is None:
                setattr(record, name, var.get())
        return True


def _fields(record: logging.LogRecord, names: tuple[str, ...]) -> dict[str, object]:
    out: dict[str, object] = {}
    for name in names:
        value = getattr(record, name, None)
        if value is not None:
            out[name] = value
    return out


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ``ts`` (UTC, ISO 8601), ``level``, ``logger``, ``msg``,
    the correlation ids and access fields that are set, and ``exc`` (the traceback)."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(), "logger": record.name,
            "msg": record.getMessage(), **_fields(record, (*CONTEXT_NAMES, *ACCESS_FIELDS))}
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        return orjson.dumps(line).decode()


#: A value written as it is in a text line; any other is quoted and escaped (JSON), so
#: that a client's ``ref`` cannot forge a line.
_PLAIN = re.compile(r"[\w.:/@%+-]*")


def _text_value(value: object) -> str:
    text = str(value)
    return text if _PLAIN.fullmatch(text) else orjson.dumps(text).decode()


class TextFormatter(logging.Formatter):
    """``time level logger message`` followed by the correlation ids that are set, as
    ``name=value`` (an access line's message holds its own fields)."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        extra = " ".join(f"{k}={_text_value(v)}"
                         for k, v in _fields(record, CONTEXT_NAMES).items())
        if not extra:
            return text
        head, sep, tail = text.partition("\n")  # a traceback stays below the line
        return f"{head} {extra}{sep}{tail}"


def configure(log_format: str = "text", level: str = "info") -> None:
    """Send every log line to standard error in ``log_format`` (``text`` or ``json``)
    from ``level`` up, replacing the root logger's handlers."""
    if log_format not in LOG_FORMATS or level not in LOG_LEVELS:
        raise ValueError(f"log format {log_format!r} or level {level!r} is unknown")
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(ContextFilter())
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())


def request_id_of(request: web.Request) -> str:
    """The request's id: its well-formed ``X-Request-Id``, else a new one."""
    return request_id_from(request.headers.get(HEADER, ""))


def request_id_from(given: str) -> str:
    """``given`` (a request's ``X-Request-Id``) if well-formed, else a new id."""
    return given if _REQUEST_ID.fullmatch(given) else secrets.token_hex(8)


def access_line(method: str, path: str, status: int, started: float, remote: str) -> None:
    """Write a request's access line (``started``: its ``time.perf_counter()``)."""
    duration = round((time.perf_counter() - started) * 1000, 1)
    access_log.info("%s %s %d %.1f ms", method, path, status, duration, extra={
        "method": method, "path": path, "status": status, "duration_ms": duration,
        "remote": remote})


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def access_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Set the request's correlation ids for everything it runs, and write its access
    line when it ends (the outermost middleware: it sees the final status).

    aiohttp runs each request in a task of its own, with a copy of the context: the ids
    set here stay in that task, nothing is reset (an open WebSocket, whose handler runs
    for as long as it is open, holds no tokens)."""
    request_id = request_id_of(request)
    REQUEST_ID.set(request_id)
    lot_id = request.match_info.get("lot_id")
    if lot_id is not None:
        LOT_ID.set(lot_id)
    started = time.perf_counter()
    status = 500
    try:
        response = await handler(request)
        status = response.status
        if not response.prepared:  # (a WebSocket's upgrade names it itself)
            response.headers[HEADER] = request_id
        return response
    except web.HTTPException as exc:
        status = exc.status
        exc.headers[HEADER] = request_id
        raise
    finally:
        access_line(request.method, request.rel_url.raw_path, status, started,
                    client_address(request, request.app[SETTINGS].trusted_proxies))
