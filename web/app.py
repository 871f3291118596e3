"""The application factory: HTTP API, WebSocket endpoint and pages on one engine.

Lifecycle (aiohttp's graceful shutdown): on start the engine is started (when the app
owns it) and the hub is made ready; on shutdown every WebSocket is closed with 1001
GOING_AWAY, then the hub releases its engine subscriptions, then the engine closes.
"""

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import PurePosixPath

from aiohttp import web

from engine.api import Engine
from engine.embedded import EmbeddedEngine
from engine.runtime import Runtime
from engine.signatures import ReceiptKey, Verifier
from web.api import MAX_BODY, error_middleware
from web.auth import StaffDirectory
from web.bank import BankService
from web.config import Settings
from web.connlog import FILENAME, ConnectionLog
from web.hub import Hub
from web.keys import (
    BANK,
    CONNECTION_LOG,
    CONNECTIONS,
    ENGINE,
    HUB,
    LIMITS,
    METRICS,
    RECEIPTS,
    SETTINGS,
    SOCKETS,
    STAFF,
    TRADE,
)
from web.limits import ClientLimits
from web.logs import access_middleware
from web.metrics import WebMetrics
from web.routes import PAGES, add_routes
from web.trade import Trade, bank_listener
from web.webhooks import run_dispatcher
from web.ws import Sockets, close_all


def create_app(settings: Settings, engine: Engine | None = None) -> web.Application:
    """The server application for ``settings``.

    Without ``engine``, one is made from the settings (an
    :class:`engine.redis_engine.RedisEngine` when ``settings.redis_url`` is set, else an
    :class:`engine.embedded.EmbeddedEngine` on ``settings.data_dir``), started with the
    app and closed with it. A given
    ``engine`` belongs to the caller, who starts it before the app starts and closes it
    after the app is cleaned up.
    """
    app = web.Application(middlewares=[access_middleware, error_middleware, compress_static],
                          client_max_size=MAX_BODY)
    owned = engine is None
    app[ENGINE] = engine = engine or make_engine(settings)
    app[SETTINGS] = settings
    key_path = settings.receipt_key_path()
    app[RECEIPTS] = (ReceiptKey.load_or_create(key_path) if key_path is not None
                     else ReceiptKey.ephemeral())
    app[STAFF] = StaffDirectory(settings.staff)
    app[HUB] = Hub(engine)
    app[CONNECTIONS] = set()
    app[LIMITS] = ClientLimits(settings)
    app[METRICS] = WebMetrics(app)
    app[TRADE] = Trade.of(settings)
    app[BANK] = BankService(engine, settings, store=app[TRADE].store)
    app[BANK].listeners.append(bank_listener(app))  # applications' deposits (docs/bank.md)
    if owned:
        app.cleanup_ctx.append(_run_engine)
    app.cleanup_ctx.append(_run_hub)
    app[CONNECTION_LOG] = ConnectionLog(settings.data_dir / FILENAME, lambda: app[ENGINE].now())
    app.cleanup_ctx.append(_run_connection_log)
    app.cleanup_ctx.append(run_dispatcher)  # webhooks, when webhook_url is set
    app[SOCKETS] = Sockets(app)
    app.on_shutdown.append(close_all)

    add_routes(app)  # every route: web.routes.ROUTES
    return app


#: Seconds aiohttp keeps reading (and dropping) the rest of a body it answered before
#: reading it all (an error, a 408), so that the client sees the answer; then it closes.
LINGER_S = 2.0


def make_runner(app: web.Application) -> web.AppRunner:
    """The runner serving ``app`` as ``auction serve`` does: a connection must send a
    request's headers within ``http_header_timeout_s`` of its opening or of the previous
    response (aiohttp's keep-alive timer, armed from the opening, closes a silent or
    half-sent connection when it fires), so neither silent sockets nor half-sent
    headers are kept; bodies have their own deadline (``web.api.read_body``)."""
    settings = app[SETTINGS]
    return web.AppRunner(app, handle_signals=False, access_log=None,
                         keepalive_timeout=settings.http_header_timeout_s,
                         lingering_time=LINGER_S)


#: Extensions of the static files sent compressed to a client that accepts it (pages are).
COMPRESSIBLE = frozenset({".html", ".css", ".js", ".json", ".svg", ".txt", ".map"})


@web.middleware
def compress_static(request: web.Request,
                    handler: Callable[[web.Request], Awaitable[web.StreamResponse]],
                    ) -> Awaitable[web.StreamResponse]:
    """Pages and static text files (HTML, CSS, scripts) go out gzip- or deflate-compressed
    when the request's Accept-Encoding allows it, as they are otherwise; ``Vary:
    Accept-Encoding`` tells caches so. Range requests are answered uncompressed.

    Any other request is handed on as it is (the handler's own coroutine, not one of
    this middleware awaiting it): a WebSocket, which runs in its handler for as long as
    it is open, holds no frame of it."""
    if request.method not in ("GET", "HEAD") or "Range" in request.headers:
        return handler(request)
    resource = request.match_info.route.resource
    page = resource is not None and resource.canonical in PAGES
    static = (request.path.startswith("/static/")
              and PurePosixPath(request.path).suffix in COMPRESSIBLE)
    if not (page or static):
        return handler(request)
    return _compressed(request, handler)


async def _compressed(request: web.Request,
                      handler: Callable[[web.Request], Awaitable[web.StreamResponse]],
                      ) -> web.StreamResponse:
    response = await handler(request)
    if response.status == 200 and "Content-Encoding" not in response.headers:
        response.headers.add("Vary", "Accept-Encoding")
        response.enable_compression()
    return response


def make_engine(settings: Settings) -> Engine:
    """The backend the settings ask for."""
    engine: Runtime
    if settings.redis_url:
        from engine.redis_engine import RedisEngine

        engine = RedisEngine(settings.redis_url, settings.postgres_dsn,
                             postgres_max_lag_ms=settings.postgres_max_lag_s * 1000,
                             address=settings.owner_ws_url)
    else:
        engine = EmbeddedEngine(settings.data_dir)
    engine.verifier = Verifier(settings.verify_threads)
    return engine


async def _run_engine(app: web.Application) -> AsyncIterator[None]:
    engine = app[ENGINE]
    await engine.start()
    try:
        yield
    finally:
        await engine.close()


async def _run_hub(app: web.Application) -> AsyncIterator[None]:
    yield
    await app[HUB].close()



async def _run_connection_log(app: web.Application) -> AsyncIterator[None]:
    """The connection log: started with the app, flushed and closed with it."""
    connection_log = app[CONNECTION_LOG]
    await connection_log.start()
    try:
        yield
    finally:
        await connection_log.close()
