"""Settings come from arguments, the environment, a JSON file, or generated secrets."""

import json
import os
import re
import stat
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from web.cli import _parser as cli_parser
from web.config import OPTIONS, ConfigError, Option, Settings


def test_defaults_generate_staff_tokens_and_a_secret_into_a_private_file(tmp_path: Path) -> None:
    settings = Settings.load(env={}, data_dir=tmp_path / "data")
    assert (settings.host, settings.port) == ("127.0.0.1", 8080)
    path = tmp_path / "data" / "secrets.json"
    assert settings.secrets_path == path
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    roles = sorted(role for _, role in settings.staff.values())
    assert roles == ["host", "supervisor"]
    assert settings.bidder_token_ttl_s == 7 * 24 * 3600
    assert any(settings.host_token() in line for line in settings.describe_tokens())


def test_generated_secrets_are_reused_on_the_next_start(tmp_path: Path) -> None:
    first = Settings.load(env={}, data_dir=tmp_path)
    second = Settings.load(env={}, data_dir=tmp_path)
    assert first.staff == second.staff and first.secret == second.secret


def test_tokens_and_secret_from_the_environment(tmp_path: Path) -> None:
    env = {"AUCTION_HOST_TOKENS": "alice:tok-a, bob:tok-b", "AUCTION_SUPERVISOR_TOKENS":
           "sam:tok-s", "AUCTION_SECRET": "s" * 32, "AUCTION_PORT": "9000",
           "AUCTION_ALLOWED_ORIGINS": "https://a.example/,https://b.example"}
    settings = Settings.load(env=env, data_dir=tmp_path)
    assert settings.staff == {"tok-a": ("alice", "host"), "tok-b": ("bob", "host"),
                              "tok-s": ("sam", "supervisor")}
    assert settings.secret == b"s" * 32 and settings.port == 9000
    assert settings.allowed_origins == frozenset({"https://a.example", "https://b.example"})
    assert not (tmp_path / "secrets.json").exists()
    assert all("tok-" not in line for line in settings.describe_tokens())


def test_a_configured_token_without_secret_gets_a_generated_persistent_secret(
        tmp_path: Path) -> None:
    env = {"AUCTION_HOST_TOKENS": "alice:tok-a"}
    first = Settings.load(env=env, data_dir=tmp_path)
    assert first.staff == {"tok-a": ("alice", "host")} and first.secrets_path is None
    assert Settings.load(env=env, data_dir=tmp_path).secret == first.secret


def test_config_file_with_arguments_taking_precedence(tmp_path: Path) -> None:
    secret_file = tmp_path / "key"
    secret_file.write_text("k" * 40 + "\n")
    config = tmp_path / "auction.json"
    config.write_text(json.dumps({
        "host": "0.0.0.0", "port": 8000, "data_dir": str(tmp_path / "d"),
        "host_tokens": {"alice": "tok-a"}, "supervisor_tokens": {"sam": "tok-s"},
        "secret_file": str(secret_file), "allowed_origins": ["https://x.example"],
        "bidder_token_ttl_s": 60}))
    settings = Settings.load(config, env={}, port=8001)
    assert (settings.host, settings.port) == ("0.0.0.0", 8001)
    assert settings.data_dir == tmp_path / "d" and settings.secret == b"k" * 40
    assert settings.allowed_origins == frozenset({"https://x.example"})
    assert settings.bidder_token_ttl_s == 60 and len(settings.staff) == 2
    assert Settings.load(env={"AUCTION_CONFIG": str(config)}).port == 8000


@pytest.mark.parametrize(("env", "message"), [
    ({"AUCTION_HOST_TOKENS": "alice"}, "id:token"),
    ({"AUCTION_HOST_TOKENS": "alice:a b"}, "printable"),
    ({"AUCTION_HOST_TOKENS": "al ice:tok"}, "staff id"),
    ({"AUCTION_HOST_TOKENS": "a:tok,a:tok2"}, "twice"),
    ({"AUCTION_HOST_TOKENS": "a:tok", "AUCTION_SUPERVISOR_TOKENS": "b:tok"}, "share"),
    ({"AUCTION_HOST_TOKENS": "a:tok", "AUCTION_SECRET": "short"}, "at least 16"),
    ({"AUCTION_PORT": "http"}, "whole number"),
    ({"AUCTION_PORT": "70000"}, "not a TCP port"),
    ({"AUCTION_CONFIG": "/nonexistent/auction.json"}, "cannot read"),
    ({"AUCTION_LOG_FORMAT": "xml"}, "log_format must be one of text, json"),
    ({"AUCTION_LOG_LEVEL": "loud"}, "log_level must be one of"),
    ({"AUCTION_METRICS_ALLOW": "10.0.0.300"}, "metrics_allow"),
    ({"AUCTION_PUBLIC_URL": "jy.example.cn"}, "public_url must be an http"),
    ({"AUCTION_REDIS_URL": "redis://r:6379/0", "AUCTION_PROCESS_URL": "ws://10.0.0.5/ws"},
     "process_url must be an http"),
    ({"AUCTION_PROCESS_URL": "http://10.0.0.5:8081"}, "process_url is only used with Redis"),
    ({"AUCTION_SIGNING_DAYS": "0"}, "signing_days must be between 1 and 366"),
    ({"AUCTION_VERIFY_THREADS": "-1"}, "verify_threads must not be negative"),
    ({"AUCTION_SIGNING_KEY": "/k.pem"}, "given together"),
    ({"AUCTION_PUBLICITY_KINDS": "land:10"}, "not kind=days"),
    ({"AUCTION_PUBLICITY_KINDS": "land=0"}, "not kind=days"),
    ({"AUCTION_WEBHOOK_URL": "https://hub.example.cn/in"}, "needs webhook_secret"),
    ({"AUCTION_PASSKEY_RP_ID": "10.0.0.8"}, "passkey_rp_id must be a domain name, not an IP"),
    ({"AUCTION_PASSKEY_RP_ID": "https://trade.example.cn"}, "passkey_rp_id must be a domain"),
    ({"AUCTION_PASSKEY_ORIGIN": "https://trade.example.cn/portal"},
     "passkey_origin must be http"),
    ({"AUCTION_WEBHOOK_URL": "ftp://x", "AUCTION_WEBHOOK_SECRET": "k" * 20},
     "webhook_url must be an http"),
])
def test_malformed_settings_are_refused_with_a_clear_message(
        tmp_path: Path, env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        Settings.load(env=env, data_dir=tmp_path)


def test_config_file_with_an_unknown_key_or_bad_json_is_refused(tmp_path: Path) -> None:
    config = tmp_path / "c.json"
    config.write_text('{"hots": "x"}')
    with pytest.raises(ConfigError, match="unknown key 'hots'"):
        Settings.load(config, env={})
    config.write_text("{nope")
    with pytest.raises(ConfigError, match="not valid JSON"):
        Settings.load(config, env={})


def test_a_readable_secrets_file_is_restricted_to_its_owner(tmp_path: Path) -> None:
    Settings.load(env={}, data_dir=tmp_path)
    path = tmp_path / "secrets.json"
    path.chmod(0o644)
    Settings.load(env={}, data_dir=tmp_path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


# ------------------------------------------------------------------------ every setting


def _staff(settings: Settings, role: str) -> dict[str, str]:
    return {staff_id: token for token, (staff_id, r) in settings.staff.items() if r == role}


#: What each setting changes in :class:`Settings`.
OBSERVE: dict[str, Callable[[Settings], Any]] = {
    "host": lambda s: s.host, "port": lambda s: s.port, "data_dir": lambda s: s.data_dir,
    "host_tokens": lambda s: _staff(s, "host"), "host_tokens_file": lambda s: _staff(s, "host"),
    "supervisor_tokens": lambda s: _staff(s, "supervisor"),
    "supervisor_tokens_file": lambda s: _staff(s, "supervisor"),
    "secret": lambda s: s.secret, "secret_file": lambda s: s.secret,
    "receipt_key_file": lambda s: s.receipt_key_file,
    "allowed_origins": lambda s: s.allowed_origins,
    "bidder_token_ttl_s": lambda s: s.bidder_token_ttl_s,
    "max_connections_per_address": lambda s: s.max_connections_per_address,
    "address_rate": lambda s: (s.address_rate, s.address_burst),
    "bid_rate": lambda s: (s.bid_rate, s.bid_burst),
    "trusted_proxies": lambda s: s.trusted_proxies,
    "redis_url": lambda s: s.redis_url, "postgres_dsn": lambda s: s.postgres_dsn,
    "postgres_max_lag_s": lambda s: s.postgres_max_lag_s,
    "verify_threads": lambda s: s.verify_threads,
    "metrics_allow": lambda s: {str(n) for n in s.metrics_allow},
    "log_format": lambda s: s.log_format, "log_level": lambda s: s.log_level,
    "ocid_prefix": lambda s: s.ocid_prefix, "ocds_publisher": lambda s: s.ocds_publisher,
    "center_name": lambda s: s.center_name, "center_contact": lambda s: s.center_contact,
    "publicity_days": lambda s: s.publicity_days, "time_zone": lambda s: s.time_zone,
    "center_holidays": lambda s: s.center_holidays,
    "center_workdays": lambda s: s.center_workdays,
    "trade_periods": lambda s: s.trade_periods,
    "barred_parties_file": lambda s: s.barred_parties_file,
    "upload_max_bytes": lambda s: s.upload_max_bytes,
    "passkey_rp_id": lambda s: s.passkey_rp_id, "passkey_origin": lambda s: s.passkey_origin,
    "bank_secret": lambda s: s.bank_secret, "bank_secret_file": lambda s: s.bank_secret,
    "bank_window_s": lambda s: s.bank_window_s, "refund_days": lambda s: s.refund_days,
    "payment_days": lambda s: s.payment_days,
    "public_url": lambda s: s.public_url, "signing_days": lambda s: s.signing_days,
    "process_url": lambda s: (s.process_url, s.owner_ws_url),
    "publicity_kinds": lambda s: dict(s.publicity_kinds),
    "platform_code": lambda s: s.platform_code, "region_code": lambda s: s.region_code,
    "webhook_url": lambda s: s.webhook_url, "webhook_secret": lambda s: s.webhook_secret,
    "confirmation_template": lambda s: s.confirmation_template,
    "pdf_font": lambda s: s.pdf_font, "signing_key": lambda s: s.signing_key,
    "signing_cert": lambda s: s.signing_cert,
}
#: Settings that need another one to be accepted (given in the file, the weakest source).
NEEDS: dict[str, dict[str, Any]] = {"postgres_dsn": {"redis_url": "redis://needed:6379/0"},
                                    "process_url": {"redis_url": "redis://needed:6379/0"},
                                    "signing_key": {"signing_cert": "/etc/center-cert.pem"},
                                    "signing_cert": {"signing_key": "/etc/center-key.pem"},
                                    "webhook_url": {"webhook_secret": "w" * 32}}


def samples(tmp: Path) -> dict[str, list[tuple[Any, str, Any]]]:
    """Two values of every setting: ``(as in the file, as text, what it sets)``."""
    def held(name: str, text: str) -> str:
        path = tmp / name
        path.write_text(text + "\n")
        return str(path)

    out: dict[str, list[tuple[Any, str, Any]]] = {
        "host": [("0.0.0.0", "0.0.0.0", "0.0.0.0"), ("::1", "::1", "::1")],
        "port": [(8001, "8001", 8001), (8002, "8002", 8002)],
        "data_dir": [(str(tmp / "d1"), str(tmp / "d1"), tmp / "d1"),
                     (str(tmp / "d2"), str(tmp / "d2"), tmp / "d2")],
        "secret": [("s" * 20, "s" * 20, b"s" * 20), ("t" * 20, "t" * 20, b"t" * 20)],
        "receipt_key_file": [(str(tmp / "r1.pem"), str(tmp / "r1.pem"), tmp / "r1.pem"),
                             (str(tmp / "r2.pem"), str(tmp / "r2.pem"), tmp / "r2.pem")],
        "allowed_origins": [(["https://a.example/"], "https://a.example/",
                             frozenset({"https://a.example"})),
                            (["https://b.example", "https://c.example"],
                             "https://b.example, https://c.example",
                             frozenset({"https://b.example", "https://c.example"}))],
        "bidder_token_ttl_s": [(60, "60", 60), (120, "120", 120)],
        "max_connections_per_address": [(7, "7", 7), (8, "8", 8)],
        "address_rate": [(50, "50", (50.0, 100)), (60, "60", (60.0, 120))],
        "bid_rate": [(5, "5", (5.0, 10)), (6, "6", (6.0, 12))],
        "trusted_proxies": [(["10.0.0.5"], "10.0.0.5", frozenset({"10.0.0.5"})),
                            (["10.0.0.6", "::1"], "10.0.0.6,::1",
                             frozenset({"10.0.0.6", "::1"}))],
        "redis_url": [("redis://a:6379/0", "redis://a:6379/0", "redis://a:6379/0"),
                      ("redis+cluster://b:7000/0", "redis+cluster://b:7000/0",
                       "redis+cluster://b:7000/0")],
        "postgres_dsn": [("postgresql://a@db/x", "postgresql://a@db/x", "postgresql://a@db/x"),
                         ("postgresql://b@db/y", "postgresql://b@db/y", "postgresql://b@db/y")],
        "postgres_max_lag_s": [(5, "5", 5), (9, "9", 9)],
        "verify_threads": [(2, "2", 2), (0, "0", 0)],
        "metrics_allow": [(["10.0.0.5"], "10.0.0.5", {"10.0.0.5/32"}),
                          (["10.1.0.0/16", "::1"], "10.1.0.0/16,::1",
                           {"10.1.0.0/16", "::1/128"})],
        "log_format": [("json", "json", "json"), ("text", "text", "text")],
        "log_level": [("debug", "debug", "debug"), ("warning", "warning", "warning")],
        "ocid_prefix": [("ocds-7x9k2p", "ocds-7x9k2p", "ocds-7x9k2p"),
                        ("ocds-a1b2c3", "ocds-a1b2c3", "ocds-a1b2c3")],
        "ocds_publisher": [("某市公共资源交易中心", "某市公共资源交易中心", "某市公共资源交易中心"),
                           ("Center B", "Center B", "Center B")],
        "center_name": [("某市公共资源交易中心", "某市公共资源交易中心", "某市公共资源交易中心"),
                        ("B Center", "B Center", "B Center")],
        "center_contact": [("0571-1234 5678", "0571-1234 5678", "0571-1234 5678"),
                           ("+86 10 8888 0000", "+86 10 8888 0000", "+86 10 8888 0000")],
        "publicity_days": [(5, "5", 5), (10, "10", 10)],
        "time_zone": [("Asia/Urumqi", "Asia/Urumqi", "Asia/Urumqi"),
                      ("Asia/Hong_Kong", "Asia/Hong_Kong", "Asia/Hong_Kong")],
        "center_holidays": [(["2026-09-30"], "2026-09-30", ("2026-09-30",)),
                            (["2027-01-04", "2027-01-05"], "2027-01-04,2027-01-05",
                             ("2027-01-04", "2027-01-05"))],
        "center_workdays": [(["2027-02-06"], "2027-02-06", ("2027-02-06",)),
                            (["2027-02-07", "2027-02-20"], "2027-02-07,2027-02-20",
                             ("2027-02-07", "2027-02-20"))],
        "trade_periods": [(["land=30c/15w"], "land=30c/15w", ("land=30c/15w",)),
                          (["land=20w/10w", "mining=25c/10w"], "land=20w/10w,mining=25c/10w",
                           ("land=20w/10w", "mining=25c/10w"))],
        "barred_parties_file": [(str(tmp / "b1.csv"), str(tmp / "b1.csv"), tmp / "b1.csv"),
                                (str(tmp / "b2.csv"), str(tmp / "b2.csv"), tmp / "b2.csv")],
        "upload_max_bytes": [(1000, "1000", 1000), (2000, "2000", 2000)],
        "passkey_rp_id": [("trade.example.cn", "trade.example.cn", "trade.example.cn"),
                          ("Localhost", "Localhost", "localhost")],
        "passkey_origin": [("https://trade.example.cn", "https://trade.example.cn",
                            "https://trade.example.cn"),
                           ("http://localhost:8080", "http://localhost:8080",
                            "http://localhost:8080")],
        "process_url": [("https://jy.example.cn/p/2/", "https://jy.example.cn/p/2/",
                         ("https://jy.example.cn/p/2", "wss://jy.example.cn/p/2/ws")),
                        ("http://10.0.0.5:8081", "http://10.0.0.5:8081",
                         ("http://10.0.0.5:8081", "ws://10.0.0.5:8081/ws"))],
        "public_url": [("https://jy.example.cn/", "https://jy.example.cn/",
                        "https://jy.example.cn"),
                       ("http://10.0.0.5:8080", "http://10.0.0.5:8080", "http://10.0.0.5:8080")],
        "signing_days": [(5, "5", 5), (3, "3", 3)],
        "webhook_url": [("https://hub.example.cn/hook", "https://hub.example.cn/hook",
                         "https://hub.example.cn/hook"),
                        ("http://10.0.0.9:9000/in", "http://10.0.0.9:9000/in",
                         "http://10.0.0.9:9000/in")],
        "platform_code": [("P-33", "P-33", "P-33"), ("P-11", "P-11", "P-11")],
        "region_code": [("330100", "330100", "330100"), ("110000", "110000", "110000")],
        "webhook_secret": [("k" * 20, "k" * 20, b"k" * 20), ("q" * 24, "q" * 24, b"q" * 24)],
        "publicity_kinds": [(["land=10"], "land=10", {"land": 10}),
                            (["land=10", "equity=20"], "land=10,equity=20",
                             {"land": 10, "equity": 20})],
    }
    for key in ("confirmation_template", "pdf_font", "signing_key", "signing_cert"):
        out[key] = [(str(tmp / f"{key}-{n}"), str(tmp / f"{key}-{n}"), tmp / f"{key}-{n}")
                    for n in (1, 2)]
    for role in ("host", "supervisor"):
        out[f"{role}_tokens"] = [({"alice": f"tok-{role}-1"}, f"alice:tok-{role}-1",
                                  {"alice": f"tok-{role}-1"}),
                                 ({"bob": f"tok-{role}-2", "carl": f"tok-{role}-3"},
                                  f"bob:tok-{role}-2,carl:tok-{role}-3",
                                  {"bob": f"tok-{role}-2", "carl": f"tok-{role}-3"})]
        paths = [held(f"{role}-{n}", f"dora:tok-{role}-f{n}") for n in (1, 2)]
        out[f"{role}_tokens_file"] = [(path, path, {"dora": f"tok-{role}-f{n}"})
                                      for n, path in zip((1, 2), paths, strict=True)]
    paths = [held(f"secret-{n}", f"{n}" * 24) for n in (1, 2)]
    out["secret_file"] = [(path, path, f"{n}".encode() * 24)
                          for n, path in zip((1, 2), paths, strict=True)]
    out["bank_secret"] = [("b" * 20, "b" * 20, b"b" * 20), ("c" * 20, "c" * 20, b"c" * 20)]
    paths = [held(f"bank-secret-{n}", f"{n}" * 20) for n in (1, 2)]
    out["bank_secret_file"] = [(path, path, f"{n}".encode() * 20)
                               for n, path in zip((1, 2), paths, strict=True)]
    out["bank_window_s"] = [(60, "60", 60), (600, "600", 600)]
    out["refund_days"] = [(3, "3", 3), (7, "7", 7)]
    out["payment_days"] = [(5, "5", 5), (15, "15", 15)]
    return out


def load_with(tmp: Path, option: Option, *, file: Any = None, env: str | None = None,
              flag: str | None = None) -> Settings:
    """Settings with ``option`` given in the file, the environment and/or by its flag
    (parsed by the ``auction serve`` command line, as a user types it)."""
    config = tmp / "auction.json"
    content = {"data_dir": str(tmp / "base"), **NEEDS.get(option.key, {})}
    if file is not None:
        content[option.key] = file
    config.write_text(json.dumps(content))
    argv = ["serve", "--config", str(config)]
    if flag is not None:
        assert option.flag is not None
        argv += [option.flag, flag]
    args = cli_parser().parse_args(argv)
    flags = {o.key: getattr(args, o.key) for o in OPTIONS if o.flag is not None}
    return Settings.load(args.config, env={option.env: env} if env is not None else {},
                         **flags)


def test_every_setting_is_read_from_the_file_the_environment_and_its_flag(
        tmp_path: Path) -> None:
    values = samples(tmp_path)
    assert set(values) == set(OBSERVE) == {option.key for option in OPTIONS}
    for option in OPTIONS:
        observe = OBSERVE[option.key]
        for as_json, as_text, expected in values[option.key]:
            assert observe(load_with(tmp_path, option, file=as_json)) == expected, option
            assert observe(load_with(tmp_path, option, env=as_text)) == expected, option
            if option.flag is not None:
                assert observe(load_with(tmp_path, option, flag=as_text)) == expected, option


def test_for_every_setting_the_flag_beats_the_environment_which_beats_the_file(
        tmp_path: Path) -> None:
    values = samples(tmp_path)
    for option in OPTIONS:
        (one, one_text, first), (_, two_text, second) = values[option.key]
        observe = OBSERVE[option.key]
        assert observe(load_with(tmp_path, option, file=one, env=two_text)) == second, option
        if option.flag is not None:
            assert observe(load_with(tmp_path, option, file=one, env=two_text,
                                     flag=one_text)) == first, option


def test_a_value_beats_the_file_holding_it_given_in_the_same_source(tmp_path: Path) -> None:
    (tmp_path / "hosts").write_text("bob:tok-from-file")
    (tmp_path / "key").write_text("k" * 20)
    config = tmp_path / "c.json"
    config.write_text(json.dumps({"host_tokens": {"alice": "tok-a"},
                                  "host_tokens_file": str(tmp_path / "hosts"),
                                  "secret": "s" * 20, "secret_file": str(tmp_path / "key")}))
    settings = Settings.load(config, env={}, data_dir=tmp_path)
    assert _staff(settings, "host") == {"alice": "tok-a"} and settings.secret == b"s" * 20
    settings = Settings.load(config, env={"AUCTION_HOST_TOKENS_FILE": str(tmp_path / "hosts"),
                                          "AUCTION_SECRET_FILE": str(tmp_path / "key")},
                             data_dir=tmp_path)
    assert _staff(settings, "host") == {"bob": "tok-from-file"}
    assert settings.secret == b"k" * 20


def test_the_configuration_reference_lists_exactly_the_settings() -> None:
    guide = (Path(__file__).parents[2] / "docs" / "configuration.md").read_text()
    rows = re.findall(r"^\| `([a-z_]+)` \| `(AUCTION_[A-Z_]+)` \| (`--[a-z-]+`|—) \|", guide,
                      re.MULTILINE)
    assert rows == [(o.key, o.env, f"`{o.flag}`" if o.flag else "—") for o in OPTIONS]


# ------------------------------------------------------------------------ auction config


def _auction(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """The ``auction`` command in a process of its own, with only ``env`` set."""
    root = Path(__file__).resolve().parents[2]
    return subprocess.run([sys.executable, "-m", "web.cli", *args], cwd=cwd, text=True,
                          capture_output=True, timeout=60,
                          env={"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(root),
                               **env})


def _rows(out: str) -> dict[str, tuple[str, str]]:
    """``setting -> (value, source)`` of ``auction config check``'s table."""
    header, *lines = out.split("\n\n")[0].splitlines()
    value_at, source_at = header.index("value"), header.index("from")
    return {line[:value_at].strip(): (line[value_at:source_at].strip(),
                                      line[source_at:].strip()) for line in lines}


def test_config_check_prints_every_value_with_its_source_and_masks_every_secret(
        tmp_path: Path) -> None:
    (tmp_path / "secret").write_text("k" * 40)
    config = tmp_path / "c.json"
    config.write_text(json.dumps({
        "port": 8081, "host": "0.0.0.0", "secret_file": str(tmp_path / "secret"),
        "supervisor_tokens": {"sam": "sup-token-value"},
        "redis_url": "redis://:redis-password@redis.internal:6379/0",
        "postgres_dsn": "postgresql://auction:pqz@db.internal/auction"}))
    env = {"AUCTION_PORT": "9000", "AUCTION_HOST_TOKENS": "alice:host-token-value",
           "AUCTION_DATA_DIR": str(tmp_path / "data")}
    done = _auction("config", "check", "--config", str(config), env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    rows = _rows(done.stdout)
    assert [key for key in rows] == [option.key for option in OPTIONS]
    assert rows["port"] == ("9000", "environment AUCTION_PORT")
    assert rows["host"] == ("0.0.0.0", f"configuration file {config}")
    assert rows["host_tokens"] == ("alice:****", "environment AUCTION_HOST_TOKENS")
    assert rows["supervisor_tokens"] == ("sam:****", f"configuration file {config}")
    assert rows["secret"] == ("**** (40 bytes)", f"the file {tmp_path / 'secret'} "
                              f"(configuration file {config})")
    assert rows["redis_url"][0] == "redis://:****@redis.internal:6379/0"
    user, host = "postgresql://auction:", "@db.internal/auction"
    assert rows["postgres_dsn"][0] == user + "****" + host
    assert rows["log_level"] == ("info", "default")
    for secret in ("host-token-value", "sup-token-value", "k" * 40, "redis-password",
                   ":pqz@"):
        assert secret not in done.stdout + done.stderr
    assert "no problems" in done.stdout
    assert not (tmp_path / "data").exists(), "a check writes nothing"


def test_config_check_lists_every_problem_at_once_and_exits_1(tmp_path: Path) -> None:
    config = tmp_path / "c.json"
    config.write_text(json.dumps({"port": 70000, "colour": "blue", "log_level": "loud",
                                  "metrics_allow": ["not-a-network"]}))
    env = {"AUCTION_SECRET": "short", "AUCTION_BID_RATE": "fast",
           "AUCTION_POSTGRES_DSN": "postgresql://db/auction",
           "AUCTION_DATA_DIR": str(tmp_path / "data")}
    done = _auction("config", "check", "--config", str(config), env=env, cwd=tmp_path)
    assert done.returncode == 1, done.stdout + done.stderr
    problems = done.stdout.split("problems:\n")[1]
    for expected in ("port 70000 is not a TCP port", "unknown key 'colour'",
                     "log_level must be one of", "metrics_allow:",
                     "the secret must be at least 16 bytes", "AUCTION_BID_RATE must be a whole "
                     "number", "a Postgres DSN is only used with Redis"):
        assert expected in problems, (expected, problems)
    assert len(problems.strip().splitlines()) == 7
    assert not (tmp_path / "data").exists()
    # what the check finds is what the server refuses to start with
    with pytest.raises(ConfigError):
        Settings.load(config, env=env)


def test_the_configuration_reference_page_is_made_from_the_options(tmp_path: Path) -> None:
    from web.config import reference, write_reference

    page = Path(__file__).resolve().parents[2] / "docs" / "configuration.md"
    assert page.read_text(encoding="utf-8") == reference(), (
        "docs/configuration.md is stale: run `auction config docs`")
    stale = tmp_path / "configuration.md"
    stale.write_text(reference().replace("`--port`", "`--listen-port`"))
    assert write_reference(True, stale) == 1 and "--listen-port" in stale.read_text()
    assert write_reference(False, stale) == 0 and stale.read_text() == reference()
    assert write_reference(True, stale) == 0
def test_an_unknown_time_zone_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="time_zone"):
        Settings.load(env={"AUCTION_TIME_ZONE": "Mars/Olympus_Mons"}, data_dir=tmp_path)


@pytest.mark.parametrize("given, words", [
    ({"center_holidays": ["2026-10-09"], "center_workdays": ["2026-10-09"]},
     "both a holiday and a working day"),
    ({"center_holidays": ["9 Oct"]}, "center_holidays"),
    ({"trade_periods": ["land=20"]}, "trade_periods"),
    ({"upload_max_bytes": 0}, "upload_max_bytes"),
])
def test_the_trades_settings_are_checked_when_read(tmp_path: Path, given: dict[str, Any],
                                                   words: str) -> None:
    config = tmp_path / "c.json"
    config.write_text(json.dumps({"data_dir": str(tmp_path), **given}))
    with pytest.raises(ConfigError, match=words):
        Settings.load(config, env={})


def test_verify_threads_sets_the_engines_verifier(tmp_path: Path) -> None:
    from engine.signatures import usable_cpus
    from web.app import make_engine

    given = Settings.load(env={"AUCTION_VERIFY_THREADS": "3"}, data_dir=tmp_path)
    assert given.verify_threads == 3
    assert make_engine(given).verifier.threads == 3  # type: ignore[attr-defined]
    auto = make_engine(Settings.load(env={}, data_dir=tmp_path))
    assert auto.verifier.threads == max(0, min(4, usable_cpus() - 1))  # type: ignore[attr-defined]
