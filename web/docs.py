"""The message tables of docs/protocol.md, made from :mod:`web.schemas`.

Each table sits between ``<!-- schema:client:NAME -->`` (or ``server``) and
``<!-- /schema -->``; ``auction docs`` rewrites them, ``auction docs --check`` fails when
a checked-in table differs from the structs (a test runs it)."""

import re
from pathlib import Path
from typing import Any

import msgspec

from web.openapi import components
from web.schemas import (
    AMOUNT_OR_ZERO_PATTERN,
    AMOUNT_PATTERN,
    CLIENT_MESSAGES,
    SERVER_MESSAGES,
    ClientMessage,
    tag_of,
)

#: docs/protocol.md in a source tree.
PROTOCOL_MD = Path(__file__).resolve().parent.parent / "docs" / "protocol.md"
_BLOCK = re.compile(r"(<!-- schema:(client|server):(\w+) -->\n)(.*?)(<!-- /schema -->)", re.S)


def _type(prop: dict[str, Any], defs: dict[str, Any]) -> tuple[str, bool]:
    """A field's type in words, and whether it may be null."""
    if "anyOf" in prop:
        choices = [c for c in prop["anyOf"] if c.get("type") != "null"]
        words = " or ".join(_type(c, defs)[0] for c in choices)
        return words, len(choices) < len(prop["anyOf"])
    if "$ref" in prop:
        return "object", False
    kind = prop.get("type")
    if "const" in prop:
        return f"`{prop['const']!r}`".replace("'", '"'), False
    if "enum" in prop:
        return " \\| ".join(f"`{v}`" for v in prop["enum"]), False
    if kind == "string":
        if prop.get("pattern") in (AMOUNT_PATTERN, AMOUNT_OR_ZERO_PATTERN):
            return "decimal string", False
        low, high = prop.get("minLength"), prop.get("maxLength")
        if high is not None:
            return f"string, {low or 0}–{high}", False
        return "string", False
    if kind == "integer":
        low, high = prop.get("minimum"), prop.get("maximum")
        if low is not None:
            return f"whole number ≥ {low}" + (f", ≤ {high}" if high is not None and
                                              high < 2**53 - 1 else ""), False
        return "whole number", False
    if kind == "array":
        return "array", False
    if kind == "object":
        return "object", False
    return str(kind or "any"), False


def _description(prop: dict[str, Any]) -> str:
    if "anyOf" in prop:
        for choice in prop["anyOf"]:
            if choice.get("description"):
                return str(choice["description"])
    return str(prop.get("description", ""))


def table(struct: type[msgspec.Struct]) -> str:
    """The markdown table of one message's fields."""
    (schema,), defs = components([struct])
    body = defs[schema["$ref"].rsplit("/", 1)[-1]]
    required = set(body.get("required", []))
    tag_field = struct.__struct_config__.tag_field
    rows = ["| field | type | |", "|---|---|---|"]
    for name, prop in body["properties"].items():
        if name == tag_field:
            continue
        words, nullable = _type(prop, defs)
        if name in required:
            presence = "required" + (", may be null" if nullable else "")
        else:
            sent = issubclass(struct, ClientMessage)
            presence = "optional" + (" (null: absent)" if nullable and sent else "")
        text = _description(prop)
        text = text[:1].upper() + text[1:]
        rows.append(f"| `{name}` | {words} | {presence}" + (f". {text}" if text else "")
                    + " |")
    if len(rows) == 2:
        rows.append("| | | no other field |")
    return "\n".join(rows) + "\n"


def _structs() -> dict[tuple[str, str], type[msgspec.Struct]]:
    return {**{("client", tag_of(m)): m for m in CLIENT_MESSAGES},
            **{("server", tag_of(m)): m for m in SERVER_MESSAGES}}


def render(text: str) -> str:
    """``text`` (docs/protocol.md) with every message table made anew; a message without
    its table, or a table of no message, is an error."""
    structs = _structs()
    seen: set[tuple[str, str]] = set()

    def replace(match: re.Match[str]) -> str:
        key = (match[2], match[3])
        if key not in structs:
            raise ValueError(f"docs/protocol.md has a table of no message: {key}")
        seen.add(key)
        return match[1] + table(structs[key]) + match[5]

    out = _BLOCK.sub(replace, text)
    missing = sorted(set(structs) - seen)
    if missing:
        raise ValueError(f"docs/protocol.md lacks the tables of {missing}: add "
                         "<!-- schema:DIRECTION:NAME --><!-- /schema --> where they belong")
    return out


def main(check: bool, path: Path = PROTOCOL_MD) -> int:
    """``auction docs``: rewrite the tables (``check``: only say whether they are
    current)."""
    text = path.read_text(encoding="utf-8")
    try:
        new = render(text)
    except ValueError as exc:
        print(exc)
        return 1
    if new == text:
        print(f"{path}: the message tables are current")
        return 0
    if check:
        print(f"{path}: the message tables are stale: run `auction docs` (or ./dev docs)")
        return 1
    path.write_text(new, encoding="utf-8")
    print(f"{path}: message tables rewritten")
    return 0
