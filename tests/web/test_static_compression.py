"""Pages and static files go out compressed to a client that accepts it, on a real
socket; the same bytes come out once decompressed, and a client that does not accept
compression gets them as they are."""

from __future__ import annotations

import gzip
import zlib

import aiohttp
import pytest
from web_support import Server

from web.app import PAGES

STATIC = ["/static/host.js", "/static/style.css", "/static/i18n.js", "/static/board.html"]
PAGE_PATHS = [p.replace("{lot_id}", "L1").replace("{notice_id}", "N1") for p in PAGES]


async def raw_get(server: Server, path: str, accept: str) -> tuple[int, dict[str, str], bytes]:
    async with aiohttp.ClientSession(auto_decompress=False) as http, http.get(
            server.base + path, headers={"Accept-Encoding": accept}) as resp:
        return resp.status, dict(resp.headers), await resp.read()


@pytest.mark.parametrize("path", STATIC + PAGE_PATHS)
async def test_pages_and_static_files_are_served_compressed_when_the_client_accepts_it(
        server: Server, path: str) -> None:
    status, plain_headers, plain = await raw_get(server, path, "identity")
    assert status == 200 and "Content-Encoding" not in plain_headers
    status, headers, body = await raw_get(server, path, "gzip, deflate")
    assert status == 200
    assert headers["Content-Encoding"] in ("gzip", "deflate"), headers
    assert "Accept-Encoding" in headers.get("Vary", "")
    unpacked = (gzip.decompress(body) if headers["Content-Encoding"] == "gzip"
                else zlib.decompress(body))
    assert unpacked == plain
    assert len(body) < len(plain)

