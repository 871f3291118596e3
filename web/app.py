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
from web.api import MAX_BODY, add_routes, error_middleware
from web.auth import StaffDirectory
from web.config import Settings
from web.connlog import CONNECTION_LOG, FILENAME, ConnectionLog, run_connection_log
from web.errors import WebError
from web.hub import Hub
from web.keys import CONNECTIONS, ENGINE, HUB, LIMITS, METRICS, SETTINGS, STAFF
from web.limits import ClientLimits
from web.logs import access_middleware
from web.metrics import WebMetrics, metrics_handler
from web.ws import close_all, websocket_handler

#: Routes of the pages and the file under ``Settings.static_dir`` each serves.
PAGES = {"/": "index.html", "/room/{lot_id}": "room.html", "/host": "host.html",
         "/board/{lot_id}": "board.html", "/result/{lot_id}": "result.html",
         "/report/{lot_id}": "report.html", "/supervisor": "supervisor.html"}
_PAGE_HEADERS = {"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff",
                 "Referrer-Policy": "no-referrer", "X-Frame-Options": "DENY"}


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
    app[STAFF] = StaffDirectory(settings.staff)
    app[HUB] = Hub(engine)
    app[CONNECTIONS] = set()
    app[LIMITS] = ClientLimits(settings)
    app[METRICS] = WebMetrics(app)
    if owned:
        app.cleanup_ctx.append(_run_engine)
    app.cleanup_ctx.append(_run_hub)
    app[CONNECTION_LOG] = ConnectionLog(settings.data_dir / FILENAME, lambda: app[ENGINE].now())
    app.cleanup_ctx.append(run_connection_log)
    app.on_shutdown.append(close_all)

    add_routes(app)
    app.router.add_get("/ws", websocket_handler)
    app.router.add_get("/metrics", metrics_handler)
    for path, filename in PAGES.items():
        app.router.add_get(path, _page(filename))
    if settings.static_dir.is_dir():
        app.router.add_static("/static/", settings.static_dir, follow_symlinks=False)
    return app


#: Extensions of the static files sent compressed to a client that accepts it (pages are).
COMPRESSIBLE = frozenset({".html", ".css", ".js", ".json", ".svg", ".txt", ".map"})


@web.middleware
async def compress_static(request: web.Request,
                          handler: Callable[[web.Request], Awaitable[web.StreamResponse]],
                          ) -> web.StreamResponse:
    """Pages and static text files (HTML, CSS, scripts) go out gzip- or deflate-compressed
    when the request's Accept-Encoding allows it, as they are otherwise; ``Vary:
    Accept-Encoding`` tells caches so. Range requests are answered uncompressed."""
    response = await handler(request)
    if request.method not in ("GET", "HEAD") or "Range" in request.headers:
        return response
    resource = request.match_info.route.resource
    page = resource is not None and resource.canonical in PAGES
    static = (request.path.startswith("/static/")
              and PurePosixPath(request.path).suffix in COMPRESSIBLE)
    if (page or static) and response.status == 200 and "Content-Encoding" not in response.headers:
        response.headers.add("Vary", "Accept-Encoding")
        response.enable_compression()
    return response


def make_engine(settings: Settings) -> Engine:
    """The backend the settings ask for."""
    if settings.redis_url:
        from engine.redis_engine import RedisEngine

        return RedisEngine(settings.redis_url, settings.postgres_dsn,
                           postgres_max_lag_ms=settings.postgres_max_lag_s * 1000)
    return EmbeddedEngine(settings.data_dir)


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


def _page(filename: str) -> Callable[[web.Request], Awaitable[web.FileResponse]]:
    async def page(request: web.Request) -> web.FileResponse:
        path = request.app[SETTINGS].static_dir / filename
        if not path.is_file():
            raise WebError(404, "not_found", f"page {filename} is not installed")
        return web.FileResponse(path, headers=_PAGE_HEADERS)

    return page
