"""The web layer: an aiohttp application serving the staff HTTP API, the WebSocket
protocol (docs/protocol.md) and the static pages, on top of an :class:`engine.api.Engine`.

Start with :func:`web.app.create_app` and :meth:`web.config.Settings.load`.
"""
