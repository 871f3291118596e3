"""Tokens: bidder tokens expire, can be revoked by a host (persistently, closing the
bidder's open sockets), are worthless for any other lot; staff secrets come from the
environment or files, never from the repository; browsers of foreign origins cannot open
WebSockets."""

from __future__ import annotations

import asyncio
import json
import math
import re
import subprocess
from collections import Counter
from pathlib import Path

import pytest
import websockets
from clock import Clock
from web_support import HOST_TOKEN, SUPERVISOR_TOKEN, Server, ServerFactory

from auction.model import PlaceBid, Rejection, RevokeTokens
from engine.embedded import EmbeddedEngine
from web.auth import BidderClaims, issue_bidder_token
from web.config import ConfigError, Settings
from web.hub import REVOKED
from web.ws import origin_allowed

REPO = Path(__file__).resolve().parents[2]


# ------------------------------------------------------------------------ expiry


async def test_an_expired_token_is_refused_everywhere(make_server: ServerFactory) -> None:
    clock = Clock()
    server = await make_server(clock=clock, bidder_token_ttl_s=3600)
    lot_id, tokens = await server.open_lot()
    client = await server.connect()
    await client.subscribe(lot_id, tokens[0])
    assert (await client.bid(lot_id, "100.00", "before"))["type"] == "ack"
    clock.jump(3600 * 1000)
    late = await client.bid(lot_id, "120.00", "after")  # the subscription outlived it
    assert late["type"] == "rejected" and late["code"] == "bad_token"
    assert "expired" in late["detail"]
    fresh = await server.connect()
    await fresh.send({"type": "subscribe", "lot_id": lot_id, "token": tokens[0]})
    error = await fresh.recv()
    assert error["code"] == "bad_token" and "expired" in error["detail"]
    status, data = await server.call("GET", f"/api/lots/{lot_id}", token=tokens[0])
    assert status == 401 and data["error"]["code"] == "bad_token"
    assert server.seq(lot_id) == 8  # only the bid before expiry


# ------------------------------------------------------------------------ revocation


async def test_a_host_revokes_a_bidder_s_tokens_and_its_sockets_are_closed(
        server: Server) -> None:
    lot_id, tokens = await server.open_lot()
    first, second = await server.connect(), await server.connect()
    await first.subscribe(lot_id, tokens[0])
    await second.subscribe(lot_id, tokens[0])  # the same bidder on another device
    rival = await server.connect()
    await rival.subscribe(lot_id, tokens[1])
    public = await server.connect()
    await public.subscribe(lot_id)
    status, data = await server.call("POST", f"/api/lots/{lot_id}/bidders/b1/revoke",
                                     {"reason": "令牌泄露 token leaked"}, token=SUPERVISOR_TOKEN)
    assert status == 403  # supervisors watch, they do not act
    done = await server.ok("POST", f"/api/lots/{lot_id}/bidders/b1/revoke",
                           {"reason": "令牌泄露 token leaked"})
    (event,) = done["events"]
    assert event["type"] == "TokensRevoked" and event["actor"] == "alice"
    assert event["bidder_id"] == "b1" and event["reason"] == "令牌泄露 token leaked"
    for client in (first, second):
        with pytest.raises(websockets.ConnectionClosed) as closed:
            async with asyncio.timeout(5):
                while True:
                    await client.recv()
        assert closed.value.rcvd is not None and closed.value.rcvd.code == REVOKED
    seen = await public.next("update")  # others stay, and learn nothing of whom
    assert seen["events"] == [{"seq": event["seq"], "type": "TokensRevoked",
                               "at": event["at"]}]
    assert (await rival.bid(lot_id, "100.00"))["type"] == "ack"
    again = await server.connect()
    await again.send({"type": "subscribe", "lot_id": lot_id, "token": tokens[0]})
    error = await again.recv()
    assert error["code"] == "bad_token" and "revoked" in error["detail"]
    status, data = await server.call("GET", f"/api/lots/{lot_id}", token=tokens[0])
    assert status == 401 and "revoked" in data["error"]["detail"]
    new = await server.ok("POST", f"/api/lots/{lot_id}/bidders/b1/token", {})
    assert new["bidder_no"] == server.engine.lot(lot_id).bidders["b1"].bidder_no  # type: ignore[union-attr]
    await again.subscribe(lot_id, new["token"])  # the bidder carries on with a new token
    assert (await again.bid(lot_id, "110.00"))["type"] == "ack"


async def test_a_revocation_survives_a_restart(make_server: ServerFactory,
                                               tmp_path: Path) -> None:
    server = await make_server()
    lot_id, tokens = await server.open_lot()
    await server.ok("POST", f"/api/lots/{lot_id}/bidders/b1/revoke", {"reason": "lost"})
    new = (await server.ok("POST", f"/api/lots/{lot_id}/bidders/b1/token", {}))["token"]
    data_dir = server.engine.data_dir
    await server.engine.close()
    restarted = await make_server(engine=EmbeddedEngine(data_dir))
    client = await restarted.connect()
    await client.send({"type": "subscribe", "lot_id": lot_id, "token": tokens[0]})
    assert (await client.recv())["code"] == "bad_token"
    await client.subscribe(lot_id, new)
    assert (await client.bid(lot_id, "100.00"))["type"] == "ack"


async def test_a_bid_sequenced_after_a_revocation_is_refused(server: Server) -> None:
    """The check is made by the rules at the instant the bid is sequenced, so a bid already
    past the web layer when the revocation commits is refused too."""
    lot_id, _ = await server.open_lot()
    engine = server.engine
    revoke = engine.execute(lot_id, RevokeTokens(bidder_id="b1", actor="alice", reason="r"))
    bid = engine.execute(lot_id, PlaceBid(bidder_id="b1", amount=10_000, token_gen=0))
    revoked, refused = await asyncio.gather(revoke, bid)
    assert isinstance(revoked, list)
    assert isinstance(refused, Rejection) and refused.code == "bad_token"


async def test_revoking_needs_a_reason_and_a_registered_bidder(server: Server) -> None:
    lot_id, _ = await server.open_lot()
    seq = server.seq(lot_id)
    for body, status, code in [({}, 400, "bad_request"), ({"reason": " "}, 400, "bad_request"),
                               ({"reason": "r", "x": 1}, 400, "bad_request")]:
        got, data = await server.call("POST", f"/api/lots/{lot_id}/bidders/b1/revoke", body)
        assert (got, data["error"]["code"]) == (status, code)
    got, data = await server.call("POST", f"/api/lots/{lot_id}/bidders/ghost/revoke",
                                  {"reason": "r"})
    assert (got, data["error"]["code"]) == (409, "unknown_bidder")
    assert server.seq(lot_id) == seq


# ------------------------------------------------------------------------ other lots


async def test_the_same_company_in_two_lots_has_two_unrelated_tokens(server: Server) -> None:
    lot_a = await server.make_lot()
    lot_b = await server.make_lot()
    token_a = (await server.register(lot_a, "acme"))["token"]
    await server.register(lot_b, "acme")
    await server.open(lot_a)
    await server.open(lot_b)
    seq_b = server.seq(lot_b)
    client = await server.connect()
    await client.send({"type": "subscribe", "lot_id": lot_b, "token": token_a})
    assert (await client.recv())["code"] == "bad_token"
    status, view = await server.call("GET", f"/api/lots/{lot_b}", token=token_a)
    assert status == 200 and "you" not in view  # lot A's token: the public view of lot B
    assert "register" not in view
    await client.subscribe(lot_a, token_a)
    assert (await client.bid(lot_b, "100.00"))["code"] == "forbidden"
    assert server.seq(lot_b) == seq_b


# ------------------------------------------------------------------------ staff secrets


def test_staff_tokens_and_the_secret_come_from_files(tmp_path: Path) -> None:
    (tmp_path / "hosts").write_text("alice:tok-alice-0123\n")
    (tmp_path / "supervisors").write_text("sam:tok-sam-0123")
    (tmp_path / "secret").write_text("k" * 40 + "\n")
    settings = Settings.load(env={
        "AUCTION_HOST_TOKENS_FILE": str(tmp_path / "hosts"),
        "AUCTION_SUPERVISOR_TOKENS_FILE": str(tmp_path / "supervisors"),
        "AUCTION_SECRET_FILE": str(tmp_path / "secret")}, data_dir=tmp_path / "data")
    assert settings.staff == {"tok-alice-0123": ("alice", "host"),
                              "tok-sam-0123": ("sam", "supervisor")}
    assert settings.secret == b"k" * 40
    assert not (tmp_path / "data" / "secrets.json").exists()  # nothing generated
    assert all("tok-" not in line for line in settings.describe_tokens())


@pytest.mark.parametrize(("env", "message"), [
    ({"AUCTION_HOST_TOKENS_FILE": "/nonexistent/hosts"}, "cannot read the host tokens file"),
    ({"AUCTION_SECRET_FILE": "/nonexistent/key"}, "cannot read the secret file"),
    ({"AUCTION_SECRET": "short"}, "at least 16"),
    ({"AUCTION_HOST_TOKENS": "alice"}, "id:token"),
    ({"AUCTION_TRUSTED_PROXIES": "proxy.example"}, "trusted_proxies"),
    ({"AUCTION_MAX_CONNECTIONS_PER_ADDRESS": "-1"}, "must be positive"),
])
def test_unusable_secrets_and_limits_are_refused_clearly(tmp_path: Path, env: dict[str, str],
                                                         message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        Settings.load(env=env, data_dir=tmp_path)


def test_limits_come_from_the_environment_or_the_file(tmp_path: Path) -> None:
    settings = Settings.load(env={"AUCTION_MAX_CONNECTIONS_PER_ADDRESS": "7",
                                  "AUCTION_BID_RATE": "5",
                                  "AUCTION_TRUSTED_PROXIES": "10.0.0.5, ::1"},
                             data_dir=tmp_path)
    assert settings.max_connections_per_address == 7
    assert (settings.bid_rate, settings.bid_burst) == (5.0, 10)
    assert settings.trusted_proxies == frozenset({"10.0.0.5", "::1"})
    config = tmp_path / "c.json"
    config.write_text(json.dumps({"address_rate": 50, "trusted_proxies": ["10.0.0.6"]}))
    settings = Settings.load(config, env={}, data_dir=tmp_path)
    assert (settings.address_rate, settings.address_burst) == (50.0, 100)
    assert settings.trusted_proxies == frozenset({"10.0.0.6"})


def test_generated_secrets_live_where_git_ignores_them() -> None:
    ignored = subprocess.run(["git", "check-ignore", "-q", "data/secrets.json"], cwd=REPO)
    assert ignored.returncode == 0


#: What a secret looks like. Tests' obvious fixtures (values naming themselves test,
#: example, demo, ...) are not secrets.
SECRET_PATTERNS = {
    "private key": re.compile(r"-----BEGIN (?:[A-Z]+ )*PRIVATE KEY-----"),
    "AWS access key": re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"),
    "GitHub token": re.compile(r"\bgh[pousr]_[A-Za-z0-9]{36,}\b"),
    "Slack token": re.compile(r"\bxox[abprs]-[A-Za-z0-9-]{10,}"),
    "signed bidder token": re.compile(r"\bb1\.[A-Za-z0-9_-]{40,}\.[A-Za-z0-9_-]{43}\b"),
    "connection string with a password": re.compile(
        r"\b(?:postgres(?:ql)?|redis|rediss|amqp)://[^:/\s@]+:[^@/\s]{4,}@"),
}
ASSIGNMENT = re.compile(
    r"""(?i)\b[\w.-]*(?:secret|token|passw(?:or)?d|api[_-]?key|private[_-]?key)[\w.-]*["']?"""
    r"""\s*[:=]\s*["']([^"'\s]{20,})["']""")
FIXTURE = re.compile(r"(?i)test|example|demo|dummy|fake|sample|fixture|placeholder|"
                     r"changeme|xxx|secret|token|passw|host|super|bench|\.\.\.|\$\{|\$\(|<")
NEVER_TRACKED = re.compile(r"(?:^|/)(?:secrets\.json|\.env(?:\.\w+)?|id_rsa|id_ed25519|"
                           r"[^/]+\.pem|[^/]+\.key|[^/]+\.p12)$")


def entropy(text: str) -> float:
    counts = Counter(text)
    return -sum(n / len(text) * math.log2(n / len(text)) for n in counts.values())


def secrets_in(path: str, text: str) -> list[str]:
    """What in ``text`` (the content of ``path``) looks like a secret."""
    found = [f"{path}: {kind}" for kind, pattern in SECRET_PATTERNS.items()
             if pattern.search(text)]
    for match in ASSIGNMENT.finditer(text):
        value = match.group(1)
        if value.isascii() and not FIXTURE.search(value) and entropy(value) > 3.5:
            found.append(f"{path}: a high-entropy value assigned to {match.group(0)[:30]!r}")
    return found


def committable_files() -> list[str]:
    """Tracked files, and files a commit could take (untracked and not ignored)."""
    out = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"],
                         cwd=REPO, capture_output=True, text=True, check=True).stdout
    return sorted(set(out.splitlines()))


def test_no_secret_is_in_the_repository() -> None:
    this_file = str(Path(__file__).resolve().relative_to(REPO))  # holds the scan's samples
    files = [f for f in committable_files() if f != this_file]
    assert "web/config.py" in files and len(files) > 50
    found = [f"{path}: a file that holds secrets" for path in files
             if NEVER_TRACKED.search(path)]
    for path in files:
        full = REPO / path
        if not full.is_file() or full.stat().st_size > 2_000_000:
            continue
        try:
            text = full.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        found.extend(secrets_in(path, text))
    assert not found, "looks like secrets in the repository:\n" + "\n".join(found)


@pytest.mark.parametrize("text", [
    "-----BEGIN RSA PRIVATE KEY-----\nMIIE...",
    "aws_key = AKIAIOSFODNN7EXAMPLX",
    "token: ghp_" + "a1B2c3D4e5" * 4,
    'AUCTION_SECRET = "9f8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c"',
    "secret_key='Zq3+Lm9/Kd8#Wp2@Xr7!Tn4$Vb6%'",
    "dsn = postgresql://auction:s3cr3tpass@db.internal/auction",
    "room: /room/L-1#token=" + issue_bidder_token(b"k" * 32, BidderClaims("L-1", "acme", "4821",
                                                                           exp=2**41)),
])
def test_the_scan_finds_what_looks_like_a_secret(text: str) -> None:
    assert secrets_in("x", text)


@pytest.mark.parametrize("text", [
    'HOST_TOKEN = "host-token-for-web-tests"',
    'AUCTION_SECRET="$(openssl rand -hex 32)"',
    'token = "b1.eyJiaWRkZXJfaWQiOi..."',
    "secret: bytes = field(default_factory=lambda: secrets.token_bytes(32))",
    'password = "example-password-for-docs"',
])
def test_the_scan_leaves_obvious_fixtures_alone(text: str) -> None:
    assert not secrets_in("x", text)


# ------------------------------------------------------------------------ origins


@pytest.mark.parametrize(("origin", "host", "allowed"), [
    ("http://127.0.0.1:8080", "127.0.0.1:8080", True),
    ("https://auction.example", "auction.example", True),
    ("https://auction.example:443", "auction.example", True),
    ("http://auction.example", "auction.example:80", True),
    ("http://127.0.0.1:8081", "127.0.0.1:8080", False),       # another port
    ("https://auction.example.evil", "auction.example", False),
    ("https://evil.example", "auction.example", False),
    ("http://auction.example@evil.example", "auction.example", False),
    ("null", "auction.example", False),                        # sandboxed or file: pages
    ("file://", "auction.example", False),
    ("ws://auction.example", "auction.example", False),
    ("", "auction.example", False),
    ("http://[::1", "auction.example", False),                 # malformed
])
def test_only_the_server_s_own_origin_may_open_a_websocket(origin: str, host: str,
                                                           allowed: bool) -> None:
    assert origin_allowed(origin, host, None) is allowed


async def test_a_foreign_origin_is_refused_before_it_counts_as_a_connection(
        make_server: ServerFactory) -> None:
    server = await make_server(max_connections_per_address=1)
    for _ in range(3):
        with pytest.raises(websockets.InvalidStatus) as refused:
            await websockets.connect(server.ws_url, origin="https://evil.example")  # type: ignore[arg-type]
        assert refused.value.response.status_code == 403
    client = await server.connect(origin=server.base)  # the one slot is still free
    await client.send({"type": "ping", "client_time": 1})
    assert (await client.recv())["type"] == "pong"


async def test_staff_tokens_never_reach_the_public(server: Server) -> None:
    lot_id, _ = await server.open_lot()
    client = await server.connect()
    await client.subscribe(lot_id)
    for raw in client.seen:
        assert HOST_TOKEN not in raw and SUPERVISOR_TOKEN not in raw
    status, data = await server.call("GET", "/api/openapi.json", token=None)
    assert status == 200 and HOST_TOKEN not in json.dumps(data)
