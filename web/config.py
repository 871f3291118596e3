"""Server settings: defaults, a JSON configuration file, the environment, and the
generated ``DATA/secrets.json``.

Precedence, strongest first: arguments of :meth:`Settings.load` (command-line flags),
environment variables, the configuration file, defaults. No secret ever lives in the
repository: staff tokens and the bidder-token key come from the environment or a file,
or are generated on first start into ``DATA/secrets.json`` (mode 0600) and reused.

Environment variables:

==============================  ==========================================================
``AUCTION_CONFIG``              path of a JSON configuration file (like ``--config``)
``AUCTION_HOST`` / ``_PORT``    address and port to listen on
``AUCTION_DATA_DIR``            data directory
``AUCTION_HOST_TOKENS``         ``"alice:tok1,bob:tok2"``: hosts (may act), staff id:token
``AUCTION_SUPERVISOR_TOKENS``   same form: supervisors (read only)
``AUCTION_SECRET``              key signing bidder tokens (at least 16 characters)
``AUCTION_SECRET_FILE``         file holding that key
``AUCTION_ALLOWED_ORIGINS``     ``"https://a.example,https://b.example"``: extra origins
                                allowed to open WebSockets (same host:port always is)
``AUCTION_BIDDER_TOKEN_TTL_S``  lifetime of bidder tokens in seconds (default 7 days)
``AUCTION_HOST_TOKENS_FILE``    file holding ``AUCTION_HOST_TOKENS`` (better than the
                                environment, which child processes and crash reports see)
``AUCTION_SUPERVISOR_TOKENS_FILE``  same for ``AUCTION_SUPERVISOR_TOKENS``
``AUCTION_MAX_CONNECTIONS_PER_ADDRESS``  WebSockets one network address may hold (100)
``AUCTION_ADDRESS_RATE``        messages per second one address may send over all its
                                WebSockets (200, bursts of twice that)
``AUCTION_BID_RATE``            bids per second one bidder may send (20, bursts of twice)
``AUCTION_TRUSTED_PROXIES``     ``"10.0.0.5,10.0.0.6"``: reverse proxies whose
                                ``X-Forwarded-For`` names the client's address
==============================  ==========================================================

The configuration file holds an object with any of the keys ``host``, ``port``,
``data_dir``, ``host_tokens`` and ``supervisor_tokens`` (objects staff id -> token),
``secret``, ``secret_file``, ``allowed_origins`` (list), ``bidder_token_ttl_s``,
``max_connections_per_address``, ``address_rate``, ``bid_rate``, ``trusted_proxies``
(list).
"""

import ipaddress
import json
import logging
import os
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

HOST, SUPERVISOR = "host", "supervisor"
ROLES = (HOST, SUPERVISOR)
SECRETS_FILE = "secrets.json"
MIN_SECRET_BYTES = 16
DEFAULT_TTL_S = 7 * 24 * 3600
_STAFF_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}")
_TOKEN = re.compile(r"[\x21-\x7e]{1,512}")
_FILE_KEYS = frozenset({
    "host", "port", "data_dir", "host_tokens", "supervisor_tokens", "secret", "secret_file",
    "allowed_origins", "bidder_token_ttl_s",
    "max_connections_per_address", "address_rate", "bid_rate", "trusted_proxies",
})
STATIC_DIR = Path(__file__).parent / "static"


class ConfigError(ValueError):
    """The configuration is unusable; the message says which setting and why."""


@dataclass(frozen=True)
class Settings:
    """Everything the server needs to know at start.

    ``staff`` maps a staff token to ``(staff_id, role)`` with role ``host`` (may act) or
    ``supervisor`` (read only). ``secret`` signs bidder tokens: keep it across restarts
    or every issued bidder token stops working. Built directly (in tests), ``secret`` is
    random per instance. ``allowed_origins`` None means only the server's own
    ``host:port`` may open WebSockets from a browser.
    """

    host: str = "127.0.0.1"
    port: int = 8080
    data_dir: Path = Path("data")
    staff: Mapping[str, tuple[str, str]] = field(default_factory=dict)
    secret: bytes = field(default_factory=lambda: secrets.token_bytes(32), repr=False)
    allowed_origins: frozenset[str] | None = None
    bidder_token_ttl_s: int = DEFAULT_TTL_S
    #: Set when the staff tokens were generated into (and read from) this file.
    secrets_path: Path | None = None
    #: Directory of the pages and their assets (``/``, ``/room/...``, ``/static/...``).
    static_dir: Path = STATIC_DIR
    #: Frames a WebSocket may have waiting to be sent before it counts as too slow.
    ws_send_queue: int = 1024
    #: Lots one WebSocket may watch at once.
    ws_max_subscriptions: int = 64
    #: Bids per second one bidder (of one lot) may send on average, and in a burst,
    #: whatever the number of its connections.
    bid_rate: float = 20.0
    bid_burst: int = 40
    #: Messages per second one network address may send over all its WebSockets.
    address_rate: float = 200.0
    address_burst: int = 400
    #: WebSockets one network address may hold open at once.
    max_connections_per_address: int = 100
    #: Seconds between the server's pings; a client that does not answer within half of
    #: it is closed.
    ws_heartbeat_s: float = 30.0
    #: Bytes waiting to be sent to one WebSocket above which its next message is not read
    #: until they are sent (so a client that does not read cannot make the server pile
    #: up catch-ups), and above which a live update closes it as too slow.
    ws_read_pause_bytes: int = 1024 * 1024
    ws_send_bytes: int = 32 * 1024 * 1024
    #: Reverse proxies whose ``X-Forwarded-For`` header names the client's address.
    trusted_proxies: frozenset[str] = frozenset()
    #: Scale-out backend: Redis URL (live record, timers, fan-out) and Postgres DSN
    #: (permanent record). Without ``redis_url`` the embedded backend is used.
    redis_url: str | None = None
    postgres_dsn: str | None = None

    def __post_init__(self) -> None:
        if len(self.secret) < MIN_SECRET_BYTES:
            raise ConfigError(f"the secret must be at least {MIN_SECRET_BYTES} bytes")
        if not (self.bid_rate > 0 and self.address_rate > 0 and self.bid_burst >= 1
                and self.address_burst >= 1 and self.max_connections_per_address >= 1):
            raise ConfigError("rates, bursts and the connection limit must be positive")
        for token, (staff_id, role) in self.staff.items():
            if role not in ROLES:
                raise ConfigError(f"staff {staff_id!r} has unknown role {role!r}")
            if not _TOKEN.fullmatch(token):
                raise ConfigError(f"the token of staff {staff_id!r} must be 1 to 512 "
                                  "printable characters without spaces")

    @classmethod
    def load(cls, config: Path | str | None = None, *, env: Mapping[str, str] | None = None,
             host: str | None = None, port: int | None = None,
             data_dir: Path | str | None = None, redis_url: str | None = None,
             postgres_dsn: str | None = None) -> "Settings":
        """Settings from (strongest first) the arguments, ``env`` (default
        ``os.environ``), the JSON file ``config`` (default ``$AUCTION_CONFIG``) and the
        defaults. Arguments that are None are not given.

        With no staff token configured anywhere, a host token and a supervisor token are
        generated into ``data_dir/secrets.json`` (mode 0600; the data directory is
        created) and reused on later starts; so is the secret when none is configured.
        Raises :class:`ConfigError` for anything malformed.
        """
        env = os.environ if env is None else env
        config = config if config is not None else env.get("AUCTION_CONFIG") or None
        file = _read_config_file(Path(config)) if config is not None else {}

        host = host or env.get("AUCTION_HOST") or _opt_str(file, "host") or cls.host
        port = port or _env_int(env, "AUCTION_PORT") or _opt_int(file, "port") or cls.port
        if not 0 < port < 65536:
            raise ConfigError(f"port {port} is not a TCP port")
        data = Path(data_dir or env.get("AUCTION_DATA_DIR") or _opt_str(file, "data_dir")
                    or cls.data_dir)
        ttl = (_env_int(env, "AUCTION_BIDDER_TOKEN_TTL_S")
               or _opt_int(file, "bidder_token_ttl_s") or DEFAULT_TTL_S)
        if ttl <= 0:
            raise ConfigError("the bidder token lifetime must be positive")

        host_list = _env_or_file(env, "AUCTION_HOST_TOKENS")
        hosts = (_parse_token_list(host_list, "AUCTION_HOST_TOKENS")
                 if host_list else _file_tokens(file, "host_tokens"))
        supervisor_list = _env_or_file(env, "AUCTION_SUPERVISOR_TOKENS")
        supervisors = (_parse_token_list(supervisor_list, "AUCTION_SUPERVISOR_TOKENS")
                       if supervisor_list else _file_tokens(file, "supervisor_tokens"))
        secret = _configured_secret(env, file)

        secrets_path = None
        if (not hosts and not supervisors) or secret is None:
            stored = _load_or_create_secrets(data, generate_staff=not hosts and not supervisors)
            if not hosts and not supervisors:
                hosts, supervisors = stored["host_tokens"], stored["supervisor_tokens"]
                secrets_path = data / SECRETS_FILE
            if secret is None:
                secret = bytes.fromhex(stored["secret"])

        staff: dict[str, tuple[str, str]] = {}
        for role, members in ((HOST, hosts), (SUPERVISOR, supervisors)):
            for staff_id, token in members.items():
                if token in staff:
                    raise ConfigError(f"staff {staff_id!r} and {staff[token][0]!r} share a token")
                staff[token] = (staff_id, role)

        origins = env.get("AUCTION_ALLOWED_ORIGINS") or None
        allowed = (frozenset(o.strip().rstrip("/") for o in origins.split(",") if o.strip())
                   if origins is not None else _file_origins(file))
        redis_url = redis_url or env.get("AUCTION_REDIS_URL") or _opt_str(file, "redis_url")
        postgres_dsn = (postgres_dsn or env.get("AUCTION_POSTGRES_DSN")
                        or _opt_str(file, "postgres_dsn"))
        if postgres_dsn and not redis_url:
            raise ConfigError("a Postgres DSN is only used with Redis (give --redis too)")
        limits = _limits(env, file)
        return cls(host=host, port=port, data_dir=data, staff=staff, secret=secret,
                   allowed_origins=allowed, bidder_token_ttl_s=ttl, secrets_path=secrets_path,
                   redis_url=redis_url, postgres_dsn=postgres_dsn, **limits)

    def host_token(self) -> str:
        """A host token (the first configured): what the demo uses to drive the API.
        Raises :class:`ConfigError` when no host is configured."""
        for token, (_, role) in self.staff.items():
            if role == HOST:
                return token
        raise ConfigError("no host token is configured")

    def describe_tokens(self) -> list[str]:
        """Lines for the start-up banner. Tokens are shown only when they were generated
        into the data directory (the operator has no other way to learn them);
        configured tokens are only named."""
        lines = []
        host = "127.0.0.1" if self.host in ("0.0.0.0", "::", "") else self.host
        for token, (staff_id, role) in self.staff.items():
            if self.secrets_path is not None:
                lines.append(f"{role} token ({staff_id}): {token}   "
                             f"console: http://{host}:{self.port}/host#token={token}")
            else:
                lines.append(f"{role} {staff_id}: token configured")
        if self.secrets_path is not None:
            lines.append(f"tokens were generated into {self.secrets_path} (kept across restarts)")
        return lines


# ------------------------------------------------------------------------ reading


def _read_config_file(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read configuration file {path}: {exc.strerror}") from None
    except ValueError as exc:
        raise ConfigError(f"configuration file {path} is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"configuration file {path} must hold a JSON object")
    unknown = sorted(set(data) - _FILE_KEYS)
    if unknown:
        raise ConfigError(f"configuration file {path}: unknown key {unknown[0]!r}")
    if "secret_file" in data and not isinstance(data["secret_file"], str):
        raise ConfigError("secret_file must be a string")
    return data


def _opt_str(file: Mapping[str, Any], key: str) -> str | None:
    value = file.get(key)
    if value is not None and not isinstance(value, str):
        raise ConfigError(f"{key} must be a string")
    return value


def _opt_int(file: Mapping[str, Any], key: str) -> int | None:
    value = file.get(key)
    if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
        raise ConfigError(f"{key} must be a whole number")
    return value


def _env_int(env: Mapping[str, str], key: str) -> int | None:
    text = env.get(key)
    if not text:
        return None
    try:
        return int(text)
    except ValueError:
        raise ConfigError(f"{key} must be a whole number, not {text!r}") from None


def _check_member(staff_id: str, token: str, where: str) -> None:
    if not _STAFF_ID.fullmatch(staff_id):
        raise ConfigError(f"{where}: staff id {staff_id!r} must be 1 to 64 letters, digits "
                          "or _.@-")
    if not _TOKEN.fullmatch(token):
        raise ConfigError(f"{where}: the token of {staff_id!r} must be 1 to 512 printable "
                          "characters without spaces")


def _parse_token_list(text: str, where: str) -> dict[str, str]:
    """``"alice:tok1,bob:tok2"`` -> ``{"alice": "tok1", "bob": "tok2"}``."""
    out: dict[str, str] = {}
    for item in text.split(","):
        item = item.strip()
        if not item:
            continue
        staff_id, sep, token = item.partition(":")
        if not sep:
            raise ConfigError(f"{where}: {item[:20]!r}... is not of the form id:token")
        _check_member(staff_id, token, where)
        if staff_id in out:
            raise ConfigError(f"{where}: staff id {staff_id!r} appears twice")
        out[staff_id] = token
    return out


def _file_tokens(file: Mapping[str, Any], key: str) -> dict[str, str]:
    value = file.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise ConfigError(f"{key} must be an object of staff id -> token strings")
    for staff_id, token in value.items():
        _check_member(staff_id, token, key)
    return dict(value)


def _file_origins(file: Mapping[str, Any]) -> frozenset[str] | None:
    value = file.get("allowed_origins")
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError("allowed_origins must be a list of origins such as "
                          "\"https://auction.example\"")
    return frozenset(v.rstrip("/") for v in value)


def _env_or_file(env: Mapping[str, str], key: str) -> str | None:
    """``env[key]``, else the content of the file named by ``env[key + "_FILE"]``."""
    if env.get(key):
        return env[key]
    path = env.get(key + "_FILE")
    if not path:
        return None
    try:
        return Path(path).read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ConfigError(f"cannot read {key}_FILE {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{key}_FILE {path} is not UTF-8 text") from None


def _limits(env: Mapping[str, str], file: Mapping[str, Any]) -> dict[str, Any]:
    """The client limits that are set (environment first, then file)."""
    out: dict[str, Any] = {}
    connections = (_env_int(env, "AUCTION_MAX_CONNECTIONS_PER_ADDRESS")
                   or _opt_int(file, "max_connections_per_address"))
    if connections is not None:
        out["max_connections_per_address"] = connections
    for key, burst in (("address_rate", "address_burst"), ("bid_rate", "bid_burst")):
        rate = _env_int(env, f"AUCTION_{key.upper()}") or _opt_int(file, key)
        if rate is not None:
            out[key], out[burst] = float(rate), 2 * rate
    proxies = env.get("AUCTION_TRUSTED_PROXIES")
    value: Any = ([p for p in proxies.split(",") if p.strip()] if proxies
                  else file.get("trusted_proxies"))
    if value is not None:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConfigError("trusted_proxies must be a list of IP addresses")
        try:
            out["trusted_proxies"] = frozenset(str(ipaddress.ip_address(v.strip()))
                                               for v in value)
        except ValueError as exc:
            raise ConfigError(f"trusted_proxies: {exc}") from None
    return out


def _configured_secret(env: Mapping[str, str], file: Mapping[str, Any]) -> bytes | None:
    if env.get("AUCTION_SECRET"):
        raw = env["AUCTION_SECRET"].encode()
    elif env.get("AUCTION_SECRET_FILE") or file.get("secret_file"):
        path = Path(env.get("AUCTION_SECRET_FILE") or file["secret_file"])
        try:
            raw = path.read_bytes().strip()
        except OSError as exc:
            raise ConfigError(f"cannot read the secret file {path}: {exc.strerror}") from None
    elif file.get("secret") is not None:
        secret = _opt_str(file, "secret")
        assert secret is not None
        raw = secret.encode()
    else:
        return None
    if len(raw) < MIN_SECRET_BYTES:
        raise ConfigError(f"the secret must be at least {MIN_SECRET_BYTES} bytes long")
    return raw


# ------------------------------------------------------------------------ secrets.json


def _load_or_create_secrets(data_dir: Path, *, generate_staff: bool) -> dict[str, Any]:
    """The content of ``data_dir/secrets.json``, completed with whatever it lacks (a
    secret; staff tokens when ``generate_staff``) and written back (mode 0600)."""
    path = data_dir / SECRETS_FILE
    stored: dict[str, Any] = {}
    if path.exists():
        if path.stat().st_mode & 0o077:
            log.warning("%s was readable by others: restricting it to its owner", path)
            path.chmod(0o600)
        try:
            stored = json.loads(path.read_text(encoding="utf-8"))
            if not isinstance(stored, dict):
                raise ValueError("not an object")
            for key in ("host_tokens", "supervisor_tokens"):
                if key in stored:
                    stored[key] = _file_tokens(stored, key)
            if "secret" in stored:
                bytes.fromhex(stored["secret"])
        except (ValueError, TypeError, ConfigError) as exc:
            raise ConfigError(f"{path} is damaged ({exc}); fix or remove it") from None
    changed = False
    if "secret" not in stored:
        stored["secret"] = secrets.token_hex(32)
        changed = True
    if generate_staff and not stored.get("host_tokens") and not stored.get("supervisor_tokens"):
        stored["host_tokens"] = {"host": secrets.token_urlsafe(24)}
        stored["supervisor_tokens"] = {"supervisor": secrets.token_urlsafe(24)}
        changed = True
    stored.setdefault("host_tokens", {})
    stored.setdefault("supervisor_tokens", {})
    if changed:
        data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = path.with_suffix(".json.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(stored, out, indent=2)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    return stored
