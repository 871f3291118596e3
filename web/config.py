"""Server settings: defaults, a JSON configuration file, the environment, command-line
flags, and the generated ``DATA/secrets.json``.

Every setting is one :class:`Option` of :data:`OPTIONS`: its key in the configuration
file, its environment variable, its flag (where it has one), how its value is read and
what it means. The file, the environment and the flags are all read through that one
list, and docs/configuration.md is made from it (``auction config docs``; a test fails
while it is stale). ``AUCTION_CONFIG``
(``--config``) names the configuration file itself: a JSON object whose keys are the
options' keys.

Precedence, strongest first: flags (arguments of :meth:`Settings.load`), environment
variables, the configuration file, defaults; an empty environment variable counts as
not set. A value and a ``*_file`` option holding it (``secret`` / ``secret_file``,
``host_tokens`` / ``host_tokens_file``, ...) are one setting: the strongest source giving
either wins, and within one source the value itself wins over the file.

No secret ever lives in the repository: staff tokens and the bidder-token key come from
the environment, a file or the configuration file, or are generated on first start
into ``DATA/secrets.json`` (mode 0600) and reused.
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
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from auction.trade.notices import parse_periods
from auction.workdays import WorkCalendar

log = logging.getLogger(__name__)

HOST, SUPERVISOR = "host", "supervisor"
ROLES = (HOST, SUPERVISOR)
SECRETS_FILE = "secrets.json"
RECEIPT_KEY_FILE = "receipt-key.pem"
MIN_SECRET_BYTES = 16
DEFAULT_TTL_S = 7 * 24 * 3600
_STAFF_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}")
_TOKEN = re.compile(r"[\x21-\x7e]{1,512}")
#: Seconds the Postgres record may lag behind Redis before ``/readyz`` answers 503.
DEFAULT_MAX_LAG_S = 30
STATIC_DIR = Path(__file__).parent / "static"
LOG_FORMATS = ("text", "json")
LOG_LEVELS = ("debug", "info", "warning", "error")
#: OCDS: the prefix of every ``ocid`` (a center registers its own with the Open
#: Contracting Partnership) and the publisher's name (docs/records.md).
DEFAULT_OCID_PREFIX = "ocds-auction"
DEFAULT_OCDS_PUBLISHER = "公共资源交易中心 / Public Resource Trading Center"
DEFAULT_UPLOAD_MAX_BYTES = 10 * 1024 * 1024
#: Bank notifications (docs/bank.md): the replay window; refunds and payments of the
#: price: working days.
DEFAULT_BANK_WINDOW_S = 300
DEFAULT_REFUND_DAYS = 5
DEFAULT_PAYMENT_DAYS = 10


@dataclass(frozen=True)
class Option:
    """One setting. ``kind`` says how it is read: ``str``, ``int`` (whole number),
    ``path``, ``list`` (comma-separated in the environment and on the command line, a
    JSON list of strings in the file), ``tokens`` (``"alice:tok1,bob:tok2"``, a JSON
    object staff id -> token in the file), ``secret`` (text; raw bytes from a file).
    ``holds`` names the setting whose value the file this option names holds."""

    key: str
    env: str
    flag: str | None
    kind: str
    help: str
    holds: str | None = None


#: Every setting, in the order docs/configuration.md lists them.
OPTIONS: tuple[Option, ...] = (
    Option("host", "AUCTION_HOST", "--host", "str", "address to listen on (127.0.0.1)"),
    Option("port", "AUCTION_PORT", "--port", "int", "TCP port to listen on (8080)"),
    Option("data_dir", "AUCTION_DATA_DIR", "--data", "path",
           "data directory (./data; the demo: a new temporary one)"),
    Option("host_tokens", "AUCTION_HOST_TOKENS", None, "tokens",
           "hosts (may act): staff id and token of each"),
    Option("host_tokens_file", "AUCTION_HOST_TOKENS_FILE", None, "path",
           "a file holding host_tokens as the environment gives them (better than the "
           "environment, which child processes and crash reports see)",
           holds="host_tokens"),
    Option("supervisor_tokens", "AUCTION_SUPERVISOR_TOKENS", None, "tokens",
           "supervisors (read only): staff id and token of each"),
    Option("supervisor_tokens_file", "AUCTION_SUPERVISOR_TOKENS_FILE", None, "path",
           "a file holding supervisor_tokens as the environment gives them",
           holds="supervisor_tokens"),
    Option("secret", "AUCTION_SECRET", None, "secret",
           "key signing bidder tokens, at least 16 bytes (generated into "
           "DATA/secrets.json when none is given)"),
    Option("secret_file", "AUCTION_SECRET_FILE", None, "path",
           "a file holding the secret", holds="secret"),
    Option("receipt_key_file", "AUCTION_RECEIPT_KEY_FILE", None, "path",
           "the Ed25519 private key (PKCS#8 PEM) signing receipts, published at "
           "/.well-known/auction-receipt-key (generated into DATA/receipt-key.pem when "
           "none is given)"),
    Option("allowed_origins", "AUCTION_ALLOWED_ORIGINS", None, "list",
           "extra origins allowed to open WebSockets (the server's own host:port always is)"),
    Option("bidder_token_ttl_s", "AUCTION_BIDDER_TOKEN_TTL_S", None, "int",
           "lifetime of bidder tokens in seconds (7 days)"),
    Option("max_connections_per_address", "AUCTION_MAX_CONNECTIONS_PER_ADDRESS", None, "int",
           "WebSockets one network address may hold (100)"),
    Option("address_rate", "AUCTION_ADDRESS_RATE", None, "int",
           "messages per second one network address may send over all its WebSockets "
           "(200, bursts of twice that)"),
    Option("bid_rate", "AUCTION_BID_RATE", None, "int",
           "bids per second one bidder may send (20, bursts of twice that)"),
    Option("trusted_proxies", "AUCTION_TRUSTED_PROXIES", None, "list",
           "IP addresses of reverse proxies whose X-Forwarded-For names the client's address"),
    Option("redis_url", "AUCTION_REDIS_URL", "--redis", "str",
           "scale-out backend: Redis URL (redis://, or redis+cluster:// for a cluster); "
           "without it, the embedded backend"),
    Option("postgres_dsn", "AUCTION_POSTGRES_DSN", "--postgres", "str",
           "scale-out backend: Postgres DSN of the permanent record (with redis_url only)"),
    Option("process_url", "AUCTION_PROCESS_URL", None, "str",
           "scale-out backend: this process's own address as clients can reach it "
           "(https://jy.example.cn/p/2, a path the proxy sends to this process alone): a "
           "client subscribing to a lot another process owns is told the owner's WebSocket "
           "address (`owner` in `subscribed`) and may connect there (none: its commands are "
           "forwarded to the owner)"),
    Option("postgres_max_lag_s", "AUCTION_POSTGRES_MAX_LAG_S", None, "int",
           f"seconds the Postgres record may lag behind Redis before /readyz answers 503 "
           f"({DEFAULT_MAX_LAG_S})"),
    Option("verify_threads", "AUCTION_VERIFY_THREADS", None, "int",
           "threads verifying bidders' signatures ahead of their lot's writer (the CPUs "
           "the process may use, less one, at most 4; 0: ECDSA is verified in the writer, "
           "SM2 in one thread)"),
    Option("metrics_allow", "AUCTION_METRICS_ALLOW", None, "list",
           "networks (such as 10.0.0.5/32) whose clients may read /metrics without a staff "
           "token"),
    Option("log_format", "AUCTION_LOG_FORMAT", "--log-format", "str",
           "text or json: the form of the log lines on standard error (text)"),
    Option("log_level", "AUCTION_LOG_LEVEL", None, "str",
           "debug, info, warning or error: the least severe lines logged (info; debug logs "
           "every bid)"),
    Option("ocid_prefix", "AUCTION_OCID_PREFIX", None, "str",
           "OCDS: the prefix of every ocid, registered by the center with the Open "
           f"Contracting Partnership ({DEFAULT_OCID_PREFIX})"),
    Option("ocds_publisher", "AUCTION_OCDS_PUBLISHER", None, "str",
           f"OCDS: the publisher's name ({DEFAULT_OCDS_PUBLISHER})"),
    Option("center_name", "AUCTION_CENTER_NAME", None, "str",
           "the trading center's name: the issuing body of result announcements and the "
           "header of printed reports (none)"),
    Option("center_contact", "AUCTION_CENTER_CONTACT", None, "str",
           "how to reach the center about a result (telephone, address), printed on result "
           "announcements (none)"),
    Option("publicity_days", "AUCTION_PUBLICITY_DAYS", None, "int",
           "working days a result is publicly announced for (公示期) after the lot ends, "
           "for a kind of trade publicity_kinds does not name (5)"),
    Option("publicity_kinds", "AUCTION_PUBLICITY_KINDS", None, "list",
           "working days of the publicity period per kind of trade, each kind=days "
           "(land=10,equity=20; none)"),
    Option("public_url", "AUCTION_PUBLIC_URL", None, "str",
           "the address the public reaches the server at (https://jy.example.cn): the QR "
           "code and verification link of confirmations (http://HOST:PORT)"),
    Option("signing_days", "AUCTION_SIGNING_DAYS", None, "int",
           "working days the winner has to sign the transaction confirmation (5)"),
    Option("confirmation_template", "AUCTION_CONFIRMATION_TEMPLATE", None, "path",
           "the center's template of the transaction confirmation (DATA/confirmation.txt "
           "when present, else the one shipped; docs/after-the-auction.md lists its "
           "placeholders)"),
    Option("pdf_font", "AUCTION_PDF_FONT", None, "path",
           "a TrueType font with Chinese glyphs embedded in PDFs (Debian's "
           "DroidSansFallbackFull.ttf or wqy-microhei.ttc when installed)"),
    Option("signing_key", "AUCTION_SIGNING_KEY", None, "path",
           "the center's private key (PEM) signing confirmations; with signing_cert "
           "(DATA/signing/center-key.pem, made with a self-signed certificate on first use)"),
    Option("signing_cert", "AUCTION_SIGNING_CERT", None, "path",
           "the certificate (PEM) of signing_key (DATA/signing/center-cert.pem)"),
    Option("platform_code", "AUCTION_PLATFORM_CODE", None, "str",
           "national feed: the trading platform's code (交易平台标识码; none)"),
    Option("region_code", "AUCTION_REGION_CODE", None, "str",
           "national feed: the administrative division code (行政区划代码, 330100; none)"),
    Option("webhook_url", "AUCTION_WEBHOOK_URL", None, "str",
           "where every milestone is posted (webhooks, docs/after-the-auction.md; none: "
           "nothing is posted)"),
    Option("webhook_secret", "AUCTION_WEBHOOK_SECRET", None, "secret",
           "the key of the webhooks' HMAC-SHA256 signatures (required with webhook_url)"),
    Option("time_zone", "AUCTION_TIME_ZONE", None, "str",
           "the center's time zone, an IANA name: the host console reads date-times in it "
           "(Asia/Shanghai)"),
    Option("center_holidays", "AUCTION_CENTER_HOLIDAYS", None, "list",
           "the center's own days off (YYYY-MM-DD) on top of China's public holidays, for "
           "periods counted in working days (none)"),
    Option("center_workdays", "AUCTION_CENTER_WORKDAYS", None, "list",
           "the center's own working days (YYYY-MM-DD), e.g. an adjusted day of a year the "
           "calendar package does not know yet (none)"),
    Option("trade_periods", "AUCTION_TRADE_PERIODS", None, "list",
           "minimum periods of notices per kind of trade, each KIND=NOTICE/APPLICATION "
           "with a number of days and c (calendar) or w (working), e.g. land=20c/10w; "
           "kinds not given keep their defaults (docs/trade.md)"),
    Option("barred_parties_file", "AUCTION_BARRED_PARTIES_FILE", None, "path",
           "a CSV file whose first column lists the credit codes and identity numbers of "
           "barred parties (e.g. dishonest judgment debtors), read again when it changes; "
           "checked at application and at award (none)"),
    Option("passkey_rp_id", "AUCTION_PASSKEY_RP_ID", None, "str",
           "the relying party id of bidders' passkeys (WebAuthn): the center's domain, "
           "e.g. trade.example.cn; never an IP address (the host name of each request)"),
    Option("passkey_origin", "AUCTION_PASSKEY_ORIGIN", None, "str",
           "the origin the bidders' browsers open the portal at, e.g. "
           "https://trade.example.cn (the scheme and host of each request)"),
    Option("upload_max_bytes", "AUCTION_UPLOAD_MAX_BYTES", None, "int",
           "largest document an applicant may upload, in bytes (10 MiB)"),
    Option("bank_secret", "AUCTION_BANK_SECRET", None, "secret",
           "key the bank signs its notifications with (HMAC-SHA256), at least 16 bytes, "
           "shared with the bank (none: POST /api/bank/notifications answers 503; "
           "docs/bank.md)"),
    Option("bank_secret_file", "AUCTION_BANK_SECRET_FILE", None, "path",
           "a file holding the bank secret", holds="bank_secret"),
    Option("bank_window_s", "AUCTION_BANK_WINDOW_S", None, "int",
           f"seconds a signed bank notification stays acceptable after its timestamp, and "
           f"how far ahead of the server's clock it may be ({DEFAULT_BANK_WINDOW_S})"),
    Option("refund_days", "AUCTION_REFUND_DAYS", None, "int",
           f"working days within which a deposit is refunded after its lot's result notice "
           f"ends, or a flagged arrival after it came ({DEFAULT_REFUND_DAYS})"),
    Option("payment_days", "AUCTION_PAYMENT_DAYS", None, "int",
           f"working days the winner has to pay the price (less its deposit) after the "
           f"payment notice, also printed on the confirmation ({DEFAULT_PAYMENT_DAYS})"),
)

_BY_KEY = {option.key: option for option in OPTIONS}


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
    #: Seconds a connection has to send a request's headers, from its opening or the end
    #: of its previous response (an idle keep-alive connection is closed after as long),
    #: and to send a request's body once its headers are in (HTTP 408 after that).
    http_header_timeout_s: float = 10.0
    http_body_timeout_s: float = 10.0
    #: Seconds a WebSocket may stay open without watching any lot (from its opening, or
    #: from its last unsubscribe) before it is closed with 1008.
    ws_subscribe_timeout_s: float = 10.0
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
    #: Scale-out backend: this process's own address as clients reach it directly ("":
    #: none); see :attr:`owner_ws_url`.
    process_url: str = ""
    #: Seconds the Postgres record may lag behind Redis before the process is not ready.
    postgres_max_lag_s: int = DEFAULT_MAX_LAG_S
    #: Threads verifying signatures ahead (:class:`engine.signatures.Verifier`); None:
    #: as many as the process's CPUs less one, at most 4.
    verify_threads: int | None = None
    #: The receipt key's file; None: ``data_dir/receipt-key.pem`` (see :meth:`receipt_key_path`).
    receipt_key_file: Path | None = None
    #: Networks whose clients may read ``/metrics`` without a staff token.
    metrics_allow: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()
    #: Log lines as ``text`` or ``json``, from ``log_level`` up (:mod:`web.logs`).
    log_format: str = "text"
    log_level: str = "info"
    #: OCDS: the prefix of every ``ocid`` and the publisher's name (:mod:`web.records`).
    ocid_prefix: str = DEFAULT_OCID_PREFIX
    ocds_publisher: str = DEFAULT_OCDS_PUBLISHER
    #: The trading center: issuing body of announcements and header of reports.
    center_name: str = ""
    center_contact: str = ""
    #: Working days a result is publicly announced for (公示期) after the lot ends, and
    #: per kind of trade (the result notice's ``trade_kind``).
    publicity_days: int = 5
    publicity_kinds: Mapping[str, int] = field(default_factory=dict)
    #: The transaction confirmation (web/confirmation.py): the public address in its QR
    #: code, the signing and payment windows in working days, the template, the font and
    #: the center's signing key and certificate (None: defaults, see the options).
    public_url: str = ""
    signing_days: int = 5
    confirmation_template: Path | None = None
    pdf_font: Path | None = None
    signing_key: Path | None = None
    signing_cert: Path | None = None
    #: The national feed (auction/trade/national.py): platform and region codes.
    platform_code: str = ""
    region_code: str = ""
    #: Webhooks (web/webhooks.py): the receiver and the key of the signatures.
    webhook_url: str = ""
    webhook_secret: bytes = field(default=b"", repr=False)
    #: The center's time zone (IANA name), in which the host console reads date-times.
    time_zone: str = "Asia/Shanghai"
    #: The center's own days off and working days (ISO dates) for working-day periods.
    center_holidays: tuple[str, ...] = ()
    center_workdays: tuple[str, ...] = ()
    #: Minimum periods per kind of trade, ``KIND=NOTICE/APPLICATION`` (``land=20c/10w``).
    trade_periods: tuple[str, ...] = ()
    #: CSV of barred parties' codes (first column), or None.
    barred_parties_file: Path | None = None
    #: Passkeys (web/passkeys.py): the relying party id and the origin ("": the request's).
    passkey_rp_id: str = ""
    passkey_origin: str = ""
    #: Largest uploaded document, in bytes.
    upload_max_bytes: int = DEFAULT_UPLOAD_MAX_BYTES
    #: The key of the bank's signed notifications (None: the bank endpoint is off).
    bank_secret: bytes | None = field(default=None, repr=False)
    bank_window_s: int = DEFAULT_BANK_WINDOW_S
    refund_days: int = DEFAULT_REFUND_DAYS
    payment_days: int = DEFAULT_PAYMENT_DAYS

    def __post_init__(self) -> None:
        if len(self.secret) < MIN_SECRET_BYTES:
            raise ConfigError(f"the secret must be at least {MIN_SECRET_BYTES} bytes")
        if self.bank_secret is not None and len(self.bank_secret) < MIN_SECRET_BYTES:
            raise ConfigError(f"the bank secret must be at least {MIN_SECRET_BYTES} bytes")
        if self.log_format not in LOG_FORMATS:
            raise ConfigError(f"log_format must be one of {', '.join(LOG_FORMATS)}, not "
                              f"{self.log_format!r}")
        if self.log_level not in LOG_LEVELS:
            raise ConfigError(f"log_level must be one of {', '.join(LOG_LEVELS)}, not "
                              f"{self.log_level!r}")
        if not (self.bid_rate > 0 and self.address_rate > 0 and self.bid_burst >= 1
                and self.address_burst >= 1 and self.max_connections_per_address >= 1):
            raise ConfigError("rates, bursts and the connection limit must be positive")
        if not (self.http_header_timeout_s > 0 and self.http_body_timeout_s > 0
                and self.ws_subscribe_timeout_s > 0):
            raise ConfigError("the header, body and subscription timeouts must be positive")
        for token, (staff_id, role) in self.staff.items():
            if role not in ROLES:
                raise ConfigError(f"staff {staff_id!r} has unknown role {role!r}")
            if not _TOKEN.fullmatch(token):
                raise ConfigError(f"the token of staff {staff_id!r} must be 1 to 512 "
                                  "printable characters without spaces")

    @classmethod
    def load(cls, config: Path | str | None = None, *, env: Mapping[str, str] | None = None,
             **flags: Any) -> "Settings":
        """Settings from (strongest first) ``flags`` (an option's key -> its value, as a
        flag's text or already typed; None is not given), ``env`` (default
        ``os.environ``), the JSON file ``config`` (default ``$AUCTION_CONFIG``) and the
        defaults.

        With no staff token configured anywhere, a host token and a supervisor token are
        generated into ``data_dir/secrets.json`` (mode 0600; the data directory is
        created) and reused on later starts; so is the secret when none is configured.
        Raises :class:`ConfigError` for anything malformed.
        """
        unknown = sorted(set(flags) - set(_BY_KEY))
        if unknown:
            raise TypeError(f"unknown setting {unknown[0]!r}")
        env = os.environ if env is None else env
        config = config if config is not None else env.get("AUCTION_CONFIG") or None
        file = _read_config_file(Path(config)) if config is not None else {}
        given = _given(flags, env, file, str(config))

        problems = _problems(given)
        if problems:
            raise ConfigError(problems[0])

        host: str = given.get("host", cls.host)
        port: int = given.get("port", cls.port)
        data: Path = given.get("data_dir", cls.data_dir)
        ttl: int = given.get("bidder_token_ttl_s", DEFAULT_TTL_S)
        lag: int = given.get("postgres_max_lag_s", DEFAULT_MAX_LAG_S)

        hosts: dict[str, str] = given.get("host_tokens", {})
        supervisors: dict[str, str] = given.get("supervisor_tokens", {})
        secret: bytes | None = given.get("secret")

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

        origins: list[str] | None = given.get("allowed_origins")
        allowed = (frozenset(o.rstrip("/") for o in origins) if origins is not None
                   else None)
        redis_url: str | None = given.get("redis_url")
        postgres_dsn: str | None = given.get("postgres_dsn")
        return cls(host=host, port=port, data_dir=data, staff=staff, secret=secret,
                   allowed_origins=allowed, bidder_token_ttl_s=ttl, secrets_path=secrets_path,
                   redis_url=redis_url, postgres_dsn=postgres_dsn, postgres_max_lag_s=lag,
                   receipt_key_file=given.get("receipt_key_file"),
                   **_limits(given), **_operations(given))

    @property
    def owner_ws_url(self) -> str | None:
        """This process's WebSocket address from :attr:`process_url` (``ws://`` for
        ``http://``, ``wss://`` for ``https://``), or None."""
        if not self.process_url:
            return None
        return "ws" + self.process_url.removeprefix("http") + "/ws"

    def receipt_key_path(self) -> Path | None:
        """Where the receipt key is kept: ``receipt_key_file``, else ``receipt-key.pem`` in
        the data directory when it exists; None (a key for this process only) for a server
        without either (tests that build their settings directly)."""
        if self.receipt_key_file is not None:
            return self.receipt_key_file
        return self.data_dir / RECEIPT_KEY_FILE if self.data_dir.is_dir() else None

    def host_token(self) -> str:
        """A host token (the first configured): what the demo uses to drive the API.
        Raises :class:`ConfigError` when no host is configured."""
        for token, (_, role) in self.staff.items():
            if role == HOST:
                return token
        raise ConfigError("no host token is configured")

    def supervisor_token(self) -> str | None:
        """A supervisor token (the first configured), None without one: the demo's
        supervisor approves the reserve its host enters."""
        return next((token for token, (_, role) in self.staff.items() if role == SUPERVISOR),
                    None)

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


def _read_config_file(path: Path, problems: list[str] | None = None) -> dict[str, Any]:
    """The configuration file's object. With ``problems``, an unknown key is added to it
    (and left out) rather than raised."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read configuration file {path}: {exc.strerror}") from None
    except ValueError as exc:
        raise ConfigError(f"configuration file {path} is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"configuration file {path} must hold a JSON object")
    unknown = sorted(set(data) - set(_BY_KEY))
    if unknown and problems is None:
        raise ConfigError(f"configuration file {path}: unknown key {unknown[0]!r}")
    for key in unknown:
        assert problems is not None
        problems.append(f"configuration file {path}: unknown key {key!r}")
        del data[key]
    return data


def _given(flags: Mapping[str, Any], env: Mapping[str, str], file: Mapping[str, Any],
           config: str, sources: dict[str, tuple[str, Any]] | None = None,
           problems: list[str] | None = None) -> dict[str, Any]:
    """Every setting given somewhere, read and typed: key -> value of the strongest
    source (flag, environment, file) giving it or the ``*_file`` option holding it.

    ``sources``, when given, receives where each value came from and the value as that
    source gave it (key -> (words, value); a ``*_file`` option's value is its path).
    ``problems``, when given, receives the message of every value that cannot be read
    (that setting is then left out) instead of raising :class:`ConfigError` at the
    first."""
    holders = {option.holds: option for option in OPTIONS if option.holds is not None}
    out: dict[str, Any] = {}
    for option in OPTIONS:
        holder = holders.get(option.key)
        for source in ("flag", "env", "file"):
            try:
                value = _source_value(option, source, flags, env, file, config)
                where = _source_words(option, source, config)
                if value is None and holder is not None:
                    path = _source_value(holder, source, flags, env, file, config)
                    if path is not None:
                        value = _held(option, path, _where(holder, source, config))
                        where = f"the file {path} ({_source_words(holder, source, config)})"
            except ConfigError as exc:
                if problems is None:
                    raise
                problems.append(str(exc))
                break
            if value is not None:
                if option.holds is None:  # a *_file option is read with what it holds
                    out[option.key] = value
                if sources is not None:
                    sources[option.key] = (where, value)
                break
    return out


def _source_words(option: Option, source: str, config: str) -> str:
    if source == "flag":
        return f"flag {option.flag}"
    if source == "env":
        return f"environment {option.env}"
    return f"configuration file {config}"


def _problems(given: Mapping[str, Any]) -> list[str]:
    """What is wrong with the settings ``given`` (read by :func:`_given`), each in words,
    in the order :meth:`Settings.load` refuses them."""
    out = []
    port = given.get("port", Settings.port)
    if not 0 < port < 65536:
        out.append(f"port {port} is not a TCP port")
    if given.get("bidder_token_ttl_s", DEFAULT_TTL_S) <= 0:
        out.append("the bidder token lifetime must be positive")
    if given.get("postgres_max_lag_s", DEFAULT_MAX_LAG_S) <= 0:
        out.append("postgres_max_lag_s must be positive")
    secret = given.get("secret")
    if secret is not None and len(secret) < MIN_SECRET_BYTES:
        out.append(f"the secret must be at least {MIN_SECRET_BYTES} bytes long")
    owners: dict[str, str] = {}
    for key in ("host_tokens", "supervisor_tokens"):
        for staff_id, token in given.get(key, {}).items():
            if token in owners:
                out.append(f"staff {staff_id!r} and {owners[token]!r} share a token")
            owners.setdefault(token, staff_id)
    if given.get("postgres_dsn") and not given.get("redis_url"):
        out.append("a Postgres DSN is only used with Redis (give --redis too)")
    if given.get("process_url") and not given.get("redis_url"):
        out.append("process_url is only used with Redis (give --redis too)")
    for read in (_limits, _operations):
        try:
            read(given)
        except ConfigError as exc:
            out.append(str(exc))
    if given.get("log_format", "text") not in LOG_FORMATS:
        out.append(f"log_format must be one of {', '.join(LOG_FORMATS)}, not "
                   f"{given['log_format']!r}")
    if given.get("log_level", "info") not in LOG_LEVELS:
        out.append(f"log_level must be one of {', '.join(LOG_LEVELS)}, not "
                   f"{given['log_level']!r}")
    for key in ("ocid_prefix", "ocds_publisher"):
        if key in given and not given[key].strip():
            out.append(f"{key} must not be blank")
    if any(given.get(key, 1) <= 0 for key in ("bid_rate", "address_rate",
                                              "max_connections_per_address")):
        out.append("rates, bursts and the connection limit must be positive")
    return out


def _where(option: Option, source: str, config: str) -> str:
    if source == "flag":
        return option.flag or option.key
    if source == "env":
        return option.env
    return f"{option.key} (in {config})"


def _source_value(option: Option, source: str, flags: Mapping[str, Any],
                  env: Mapping[str, str], file: Mapping[str, Any], config: str) -> Any:
    """The option's value in one source, read, or None when that source does not give it."""
    where = _where(option, source, config)
    if source == "flag":
        raw = flags.get(option.key)
        if isinstance(raw, os.PathLike):
            raw = os.fspath(raw)
        if raw is None:
            return None
        return _from_text(option, raw, where) if isinstance(raw, str) else _from_json(
            option, raw, where)
    if source == "env":
        text = env.get(option.env)
        return _from_text(option, text, where) if text else None
    value = file.get(option.key)
    return None if value is None else _from_json(option, value, where)


def _from_text(option: Option, text: str, where: str) -> Any:
    """An environment variable's or a flag's text, read as ``option.kind``."""
    if option.kind == "int":
        try:
            return int(text)
        except ValueError:
            raise ConfigError(f"{where} must be a whole number, not {text!r}") from None
    if option.kind == "path":
        return Path(text)
    if option.kind == "list":
        return [item.strip() for item in text.split(",") if item.strip()]
    if option.kind == "tokens":
        return _parse_token_list(text, where)
    if option.kind == "secret":
        return text.encode()
    return text


def _from_json(option: Option, value: Any, where: str) -> Any:
    """A configuration file's value, checked and read as ``option.kind``."""
    if option.kind == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{where} must be a whole number")
        return value
    if option.kind == "list":
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConfigError(f"{where} must be a list of strings")
        return [v.strip() for v in value]
    if option.kind == "tokens":
        return _file_tokens({option.key: value}, option.key, where)
    if not isinstance(value, str):
        raise ConfigError(f"{where} must be a string")
    if option.kind == "path":
        return Path(value)
    if option.kind == "secret":
        return value.encode()
    return value


def _held(option: Option, path: Path, where: str) -> Any:
    """The value of ``option`` read from the file ``path`` (named by ``where``)."""
    try:
        raw = path.read_bytes().strip()
    except OSError as exc:
        raise ConfigError(f"cannot read the {option.key.replace('_', ' ')} file {path} "
                          f"({where}): {exc.strerror}") from None
    if option.kind == "secret":
        return raw
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"{where}: {path} is not UTF-8 text") from None
    return _from_text(option, text, f"{where} ({path})")


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


def _file_tokens(file: Mapping[str, Any], key: str, where: str | None = None) -> dict[str, str]:
    value = file.get(key)
    where = where or key
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise ConfigError(f"{where} must be an object of staff id -> token strings")
    for staff_id, token in value.items():
        _check_member(staff_id, token, where)
    return dict(value)


def _limits(given: Mapping[str, Any]) -> dict[str, Any]:
    """The client limits that are set, as :class:`Settings` fields."""
    out: dict[str, Any] = {}
    if "max_connections_per_address" in given:
        out["max_connections_per_address"] = given["max_connections_per_address"]
    for key, burst in (("address_rate", "address_burst"), ("bid_rate", "bid_burst")):
        if key in given:
            out[key], out[burst] = float(given[key]), 2 * given[key]
    if "trusted_proxies" in given:
        try:
            out["trusted_proxies"] = frozenset(str(ipaddress.ip_address(v))
                                               for v in given["trusted_proxies"])
        except ValueError as exc:
            raise ConfigError(f"trusted_proxies: {exc}") from None
    return out


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _operations(given: Mapping[str, Any]) -> dict[str, Any]:
    """The settings of logs, metrics, OCDS and the center's own that are set, as
    :class:`Settings` fields."""
    if given.get("verify_threads", 0) < 0:
        raise ConfigError("verify_threads must not be negative")
    out = {key: given[key] for key in ("verify_threads", "log_format", "log_level",
                                       "ocid_prefix",
                                       "ocds_publisher", "center_name", "center_contact",
                                       "confirmation_template", "pdf_font", "signing_key",
                                       "signing_cert", "platform_code", "region_code")
           if key in given}
    if "passkey_rp_id" in given:
        rp_id = given["passkey_rp_id"].lower()
        if not re.fullmatch(r"[a-z0-9]([a-z0-9.-]*[a-z0-9])?", rp_id) or _is_ip(rp_id):
            raise ConfigError("passkey_rp_id must be a domain name, not an IP address")
        out["passkey_rp_id"] = rp_id
    if "passkey_origin" in given:
        if not re.fullmatch(r"https?://[^\s/]+", given["passkey_origin"]):
            raise ConfigError("passkey_origin must be http(s)://HOST[:PORT], no path")
        out["passkey_origin"] = given["passkey_origin"]
    for key in ("process_url", "public_url"):
        if key in given:
            if not re.fullmatch(r"https?://[^\s/]+(/\S*)?", given[key]):
                raise ConfigError(f"{key} must be an http:// or https:// address")
            out[key] = given[key].rstrip("/")
    for key in ("signing_days", "payment_days"):
        if key in given:
            if not 0 < given[key] <= 366:
                raise ConfigError(f"{key} must be between 1 and 366")
            out[key] = given[key]
    if "webhook_url" in given:
        if not re.fullmatch(r"https?://[^\s/]+(/\S*)?", given["webhook_url"]):
            raise ConfigError("webhook_url must be an http:// or https:// address")
        if len(given.get("webhook_secret", b"")) < MIN_SECRET_BYTES:
            raise ConfigError(f"webhook_url needs webhook_secret (at least "
                              f"{MIN_SECRET_BYTES} bytes)")
        out["webhook_url"] = given["webhook_url"]
    if "webhook_secret" in given:
        out["webhook_secret"] = given["webhook_secret"]
    if ("signing_key" in given) != ("signing_cert" in given):
        raise ConfigError("signing_key and signing_cert are given together or not at all")
    if "publicity_days" in given:
        if not 0 < given["publicity_days"] <= 366:
            raise ConfigError("publicity_days must be between 1 and 366")
        out["publicity_days"] = given["publicity_days"]
    if "publicity_kinds" in given:
        kinds: dict[str, int] = {}
        for item in given["publicity_kinds"]:
            kind, _, days = item.partition("=")
            if not (re.fullmatch(r"[a-z][a-z0-9_-]{0,31}", kind.strip())
                    and days.strip().isdigit() and 0 < int(days) <= 366):
                raise ConfigError(f"publicity_kinds: {item!r} is not kind=days (a kind in "
                                  "lower case, 1 to 366 days)")
            kinds[kind.strip()] = int(days)
        out["publicity_kinds"] = kinds
    if "time_zone" in given:
        try:
            ZoneInfo(given["time_zone"])
        except (ValueError, ZoneInfoNotFoundError):
            raise ConfigError(f"time_zone {given['time_zone']!r} is not a known time zone "
                              "(an IANA name such as Asia/Shanghai)") from None
        out["time_zone"] = given["time_zone"]
    out.update(_trade(given))
    for key, high in (("bank_window_s", 24 * 3600), ("refund_days", 366),
                      ("payment_days", 366)):
        if key in given:
            if not 0 < given[key] <= high:
                raise ConfigError(f"{key} must be between 1 and {high}")
            out[key] = given[key]
    if "bank_secret" in given:
        if len(given["bank_secret"]) < MIN_SECRET_BYTES:
            raise ConfigError(f"the bank secret must be at least {MIN_SECRET_BYTES} bytes")
        out["bank_secret"] = given["bank_secret"]
    if "metrics_allow" in given:
        try:
            out["metrics_allow"] = tuple(ipaddress.ip_network(v, strict=False)
                                         for v in given["metrics_allow"])
        except ValueError as exc:
            raise ConfigError(f"metrics_allow: {exc}") from None
    return out


def _trade(given: Mapping[str, Any]) -> dict[str, Any]:
    """The settings of the trade around a lot (notices, applications) that are set, as
    :class:`Settings` fields, checked by the parsers that use them."""
    out: dict[str, Any] = {}
    for key in ("center_holidays", "center_workdays", "trade_periods"):
        if key in given:
            out[key] = tuple(given[key])
    try:
        WorkCalendar().with_days(out.get("center_holidays", ()),
                                 out.get("center_workdays", ()))
    except ValueError as exc:
        raise ConfigError(f"center_holidays / center_workdays: {exc}") from None
    try:
        parse_periods(out.get("trade_periods", ()))
    except ValueError as exc:
        raise ConfigError(f"trade_periods: {exc}") from None
    if "barred_parties_file" in given:
        out["barred_parties_file"] = given["barred_parties_file"]
    if "upload_max_bytes" in given:
        if not 0 < given["upload_max_bytes"] <= 1024**3:
            raise ConfigError("upload_max_bytes must be between 1 and 1073741824")
        out["upload_max_bytes"] = given["upload_max_bytes"]
    return out


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


# ------------------------------------------------------------------------ auction config


#: The reference page of the settings, made from :data:`OPTIONS` (``auction config docs``).
CONFIGURATION_MD = Path(__file__).resolve().parent.parent / "docs" / "configuration.md"
_GENERATED = ("host_tokens", "supervisor_tokens", "secret")
_PASSWORD = re.compile(r"(?P<head>://[^/@:\s]*:)[^/@\s]*(?P<tail>@)|"
                       r"(?P<key>password\s*=\s*)(?:'[^']*'|\S+)", re.IGNORECASE)


@dataclass(frozen=True)
class Effective:
    """One setting as ``auction config check`` shows it: its value (secrets masked) and
    where the value came from."""

    key: str
    value: str
    source: str


def default_text(option: Option) -> str:
    """The option's default in words."""
    if option.key in _GENERATED:
        return f"generated into DATA/{SECRETS_FILE}"
    return shown(option, getattr(Settings, option.key, None))


def shown(option: Option, value: Any) -> str:
    """``value`` of ``option`` as it may be printed: tokens and the secret masked, the
    password of a URL or DSN masked."""
    if value is None or (isinstance(value, list | tuple | frozenset | set | dict)
                         and not value):
        return "(none)"
    if option.kind == "tokens":
        return ", ".join(f"{staff_id}:****" for staff_id in value)
    if option.kind == "secret":
        return f"**** ({len(value)} bytes)"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, list | tuple | frozenset | set):
        return ", ".join(str(v) for v in value)
    return _PASSWORD.sub(lambda m: (f"{m['head']}****{m['tail']}" if m["head"]
                                    else f"{m['key']}****"), str(value))


def check(config: Path | str | None = None, *, env: Mapping[str, str] | None = None,
          **flags: Any) -> tuple[list[Effective], list[str]]:
    """The effective configuration (as :meth:`Settings.load` would read it from the same
    sources) and every problem in it, without writing anything: what ``auction config
    check`` prints."""
    env = os.environ if env is None else env
    config = config if config is not None else env.get("AUCTION_CONFIG") or None
    problems: list[str] = []
    file: dict[str, Any] = {}
    if config is not None:
        try:
            file = _read_config_file(Path(config), problems)
        except ConfigError as exc:
            problems.append(str(exc))
    sources: dict[str, tuple[str, Any]] = {}
    given = _given(flags, env, file, str(config), sources, problems)
    problems += _problems(given)
    data = Path(given.get("data_dir", Settings.data_dir))
    staff_given = "host_tokens" in given or "supervisor_tokens" in given
    stored = _stored_secrets(data, problems)
    lines = []
    for option in OPTIONS:
        if option.key in sources:
            source, value = sources[option.key]
            lines.append(Effective(option.key, shown(option, value), source))
        elif option.key in _GENERATED and (option.key == "secret" or not staff_given):
            value = stored.get(option.key)
            if option.key == "secret" and value is not None:
                value = bytes.fromhex(value)
            lines.append(Effective(
                option.key, shown(option, value) if value is not None else "(none yet)",
                f"generated in {data / SECRETS_FILE}" if value is not None
                else f"to be generated into {data / SECRETS_FILE} on the first start"))
        else:
            lines.append(Effective(option.key, default_text(option), "default"))
    return lines, list(dict.fromkeys(problems))


def _stored_secrets(data_dir: Path, problems: list[str]) -> dict[str, Any]:
    """The generated ``secrets.json`` as it is (nothing is written), or ``{}``."""
    path = data_dir / SECRETS_FILE
    if not path.exists():
        return {}
    try:
        stored = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(stored, dict):
            raise ValueError("not an object")
        for key in ("host_tokens", "supervisor_tokens"):
            stored[key] = _file_tokens(stored, key)
        if "secret" in stored:
            bytes.fromhex(stored["secret"])
    except (OSError, ValueError, TypeError, ConfigError) as exc:
        problems.append(f"{path} is damaged ({exc}); fix or remove it")
        return {}
    return stored


_REFERENCE_HEAD = """\
# Configuration

<!-- Made from web/config.py's OPTIONS by `auction config docs`; do not edit by hand
(a test fails while this page differs from OPTIONS). -->

Every setting can be given in the configuration file (a JSON object, by its key; the
file is named by `--config` or `AUCTION_CONFIG`), in the environment, and, for some, by
a flag of `auction serve` / `auction demo`. Precedence, strongest first: **flag >
environment > configuration file > default**; an empty environment variable counts as
not set. A value and the `*_file` setting holding it (`secret` and `secret_file`, ...)
are one setting: the strongest source giving either wins, and within one source the
value itself wins over the file. In the environment and on the command line, lists are
comma-separated (`"https://a.example,https://b.example"`) and staff tokens are
`"alice:tok1,bob:tok2"`; in the configuration file they are a JSON list and a JSON
object (`{"alice": "tok1"}`). This table is `web/config.py`'s `OPTIONS`, the one list
every source is read through (`tests/web/test_web_config.py` sets each setting from each
source and checks that this table lists exactly them).

`auction config check [--config FILE]` prints the effective configuration, each value
with where it came from (a flag, the environment, the configuration file, a file named
by a `*_file` setting, `DATA/secrets.json`, or the default; tokens, the secret and the
passwords of URLs masked), then every problem found; it exits 1 when there is one, 0
otherwise, and writes nothing.

"""


def reference() -> str:
    """docs/configuration.md: the settings of :data:`OPTIONS`, in their order."""
    rows = ["| file key | environment | flag | kind | default | setting |",
            "|---|---|---|---|---|---|"]
    for option in OPTIONS:
        flag = f"`{option.flag}`" if option.flag else "—"
        kind = f"file holding `{option.holds}`" if option.holds else option.kind
        rows.append(f"| `{option.key}` | `{option.env}` | {flag} | {kind} | "
                    f"{default_text(option)} | {option.help} |")
    return _REFERENCE_HEAD + "\n".join(rows) + "\n"


def write_reference(check_only: bool, path: Path = CONFIGURATION_MD) -> int:
    """``auction config docs``: rewrite ``path`` from :data:`OPTIONS` (``check_only``:
    change nothing, 1 when it is stale)."""
    text = reference()
    current = path.read_text(encoding="utf-8") if path.exists() else None
    if current == text:
        print(f"{path}: current")
        return 0
    if check_only:
        print(f"{path}: stale: run `auction config docs`")
        return 1
    path.write_text(text, encoding="utf-8")
    print(f"{path}: written")
    return 0
