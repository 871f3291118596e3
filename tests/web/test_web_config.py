"""Settings come from arguments, the environment, a JSON file, or generated secrets."""

import json
import stat
from pathlib import Path

import pytest

from web.config import ConfigError, Settings


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
