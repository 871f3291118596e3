"""Every application key of the web layer (``web.AppKey``): the only module that makes
them (tests/web/test_structure.py keeps it so). Handlers of a sub-application read them
through ``request.config_dict``, which reaches the root application's values."""

from typing import TYPE_CHECKING, Any

from aiohttp import web

from engine.api import Engine
from engine.signatures import ReceiptKey
from web.auth import StaffDirectory
from web.config import Settings
from web.connlog import ConnectionLog

if TYPE_CHECKING:
    from web.bank import BankService
    from web.hub import Hub
    from web.limits import ClientLimits
    from web.metrics import WebMetrics
    from web.trade import Trade
    from web.webhooks import Dispatcher
    from web.ws import Connection, Sockets

SETTINGS = web.AppKey("settings", Settings)
ENGINE = web.AppKey("engine", Engine)
STAFF = web.AppKey("staff", StaffDirectory)
HUB: web.AppKey["Hub"] = web.AppKey("hub")
#: Open WebSocket connections, closed with GOING_AWAY on shutdown.
CONNECTIONS: web.AppKey["set[Connection]"] = web.AppKey("connections")
#: What the WebSocket connections share (web.ws.Sockets): made once, not per connection.
SOCKETS: web.AppKey["Sockets"] = web.AppKey("sockets")
#: Rate and connection limits of the clients (per process).
LIMITS: web.AppKey["ClientLimits"] = web.AppKey("limits")
#: The application's metrics registry and the edge's counters (``/metrics``).
METRICS: web.AppKey["WebMetrics"] = web.AppKey("metrics")
#: Where the identities of connections are logged (web.connlog).
CONNECTION_LOG = web.AppKey("connection_log", ConnectionLog)
#: The request body's struct of each JSON route, by ``(method, path)``: made from the
#: route table (web.routes.ROUTES), read by :func:`web.api.read_body`.
BODIES: web.AppKey[dict[tuple[str, str], Any]] = web.AppKey("bodies")
#: The trade's deciders, object store, barred list and login limits (web.trade).
TRADE: web.AppKey["Trade"] = web.AppKey("trade")
#: Deposits and payments through the bank (web.bank).
BANK: web.AppKey["BankService"] = web.AppKey("bank")
#: The deployment's receipt key (engine.signatures.ReceiptKey): signs every ``ack``.
RECEIPTS = web.AppKey("receipts", ReceiptKey)
#: The webhooks' dispatcher of this process (web.webhooks), when webhook_url is set.
DISPATCHER: web.AppKey["Dispatcher"] = web.AppKey("webhooks")
