"""The edge's declaration of each format's parameters (web/schemas.py) and the rules' own
parsing (auction/) name the same keys: a key one of them adds is found at once."""

from typing import Any

import msgspec
import pytest

from auction import default, signing
from auction import params as rules_params
from auction.lot import FORMATS
from web.schemas import FORMAT_EXAMPLES, FORMAT_PARAMS


def keys_the_rules_read(fmt: str, monkeypatch: pytest.MonkeyPatch) -> dict[str, set[str]]:
    """Every key each reader of the format's parser takes, by what it reads (``params``,
    ``steps``, ``secondary``): the parser takes each key it knows, present or not."""
    read: dict[str, set[str]] = {}
    original_init, original_take = rules_params._Reader.__init__, rules_params._Reader.take

    def init(self: Any, raw: object, what: str = "params") -> None:
        original_init(self, raw, what)
        self.what = what

    def take(self: Any, key: str) -> Any:
        read.setdefault(self.what, set()).add(key)
        return original_take(self, key)

    monkeypatch.setattr(rules_params._Reader, "__init__", init)
    monkeypatch.setattr(rules_params._Reader, "take", take)
    FORMATS[fmt].parse(FORMAT_EXAMPLES[fmt])
    return read


def declared(cls: type[msgspec.Struct]) -> set[str]:
    return {f.encode_name for f in msgspec.structs.fields(cls)}


@pytest.mark.parametrize("fmt", sorted(FORMAT_PARAMS))
def test_the_schema_of_a_format_s_parameters_names_exactly_the_keys_its_rules_read(
        fmt: str, monkeypatch: pytest.MonkeyPatch) -> None:
    assert set(FORMAT_PARAMS) == set(FORMATS)
    read = keys_the_rules_read(fmt, monkeypatch)
    # ``signatures`` and ``on_default`` are read for every lot before its format parses the
    # rest (auction.signing, auction.default)
    assert declared(FORMAT_PARAMS[fmt]) == read["params"] | {"signatures", "on_default"}, fmt
    assert signing.parse_mode({**FORMAT_EXAMPLES[fmt], "signatures": "required"})[1] == \
        FORMAT_EXAMPLES[fmt]
    assert default.parse_policy({**FORMAT_EXAMPLES[fmt], "on_default": "relist"})[1] == \
        FORMAT_EXAMPLES[fmt]
