"""The typed application keys shared by the modules of the web layer."""

from typing import TYPE_CHECKING

from aiohttp import web

from engine.api import Engine
from web.auth import StaffDirectory
from web.config import Settings

if TYPE_CHECKING:
    from web.hub import Hub
    from web.limits import ClientLimits
    from web.metrics import WebMetrics
    from web.ws import Connection

SETTINGS = web.AppKey("settings", Settings)
ENGINE = web.AppKey("engine", Engine)
STAFF = web.AppKey("staff", StaffDirectory)
HUB: web.AppKey["Hub"] = web.AppKey("hub")
#: Open WebSocket connections, closed with GOING_AWAY on shutdown.
CONNECTIONS: web.AppKey["set[Connection]"] = web.AppKey("connections")
#: Rate and connection limits of the clients (per process).
LIMITS: web.AppKey["ClientLimits"] = web.AppKey("limits")
#: The application's metrics registry and the edge's counters (``/metrics``).
METRICS: web.AppKey["WebMetrics"] = web.AppKey("metrics")
