"""A token has exactly one spelling: any other string, however close (another last
character carrying the same bits, ``=`` padding, the ``+/`` alphabet, another case,
whitespace, unicode lookalikes), is refused, for bidder tokens and staff tokens alike, in
the functions and over real HTTP and WebSocket."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from web_support import HOST_TOKEN, STAFF, Server

from web.auth import (
    BidderClaims,
    StaffDirectory,
    TokenError,
    issue_bidder_token,
    read_bidder_token,
)

SECRET = b"token-spelling-test-secret-0123456789"
CLAIMS = BidderClaims("L-1", "b1", "4821", 2_000_000_000_000, 0)
TOKEN = issue_bidder_token(SECRET, CLAIMS)
B64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
#: Characters a reader takes for others: Cyrillic and Greek letters, fullwidth forms,
#: dashes and underscores from other blocks, zero-width and no-break spaces.
LOOKALIKES = {
    "a": "аα", "c": "с", "e": "е", "o": "оο", "p": "р", "x": "х", "y": "у", "A": "АΑ",
    "B": "ВΒ", "E": "ЕΕ", "H": "НΗ", "K": "КΚ", "M": "МΜ", "O": "ОΟ", "P": "РΡ",
    "T": "ТΤ", "X": "ХΧ", "0": "０O", "1": "１l", "-": "‐‑–−－", "_": "＿", ".": "․。",
}
WHITESPACE = [" ", "\t", "\n", "\r", "\u00a0", "\u200b", "\ufeff", "\u3000"]


def _replace(text: str, index: int, new: str) -> str:
    return text[:index] + new + text[index + 1:]


@st.composite
def mutants(draw: st.DrawFn, token: str) -> str:
    """A string near ``token``: one or two of the edits a forger (or a sloppy copy) makes."""
    out = token
    for _ in range(draw(st.integers(1, 2))):
        kind = draw(st.sampled_from(["last", "pad", "alphabet", "case", "space", "lookalike",
                                     "replace", "drop", "insert"]))
        segments = out.split(".")
        if kind == "last":  # another last character of a segment (same leading bits)
            i = draw(st.integers(0, len(segments) - 1))
            if segments[i]:
                segments[i] = segments[i][:-1] + draw(st.sampled_from(B64URL + "+/="))
            out = ".".join(segments)
        elif kind == "pad":
            i = draw(st.integers(0, len(segments) - 1))
            segments[i] += "=" * draw(st.integers(1, 3))
            out = ".".join(segments)
        elif kind == "alphabet":  # the standard alphabet, the padded form
            out = out.replace("-", "+").replace("_", "/")
        elif kind == "case":
            i = draw(st.integers(0, len(out) - 1))
            out = _replace(out, i, out[i].swapcase())
        elif kind == "space":
            i = draw(st.integers(0, len(out)))
            out = out[:i] + draw(st.sampled_from(WHITESPACE)) + out[i:]
        elif kind == "lookalike":
            spots = [i for i, c in enumerate(out) if c in LOOKALIKES]
            if spots:
                i = draw(st.sampled_from(spots))
                out = _replace(out, i, draw(st.sampled_from(LOOKALIKES[out[i]])))
        elif kind == "replace":
            i = draw(st.integers(0, len(out) - 1))
            out = _replace(out, i, draw(st.characters()))
        elif kind == "drop" and out:
            i = draw(st.integers(0, len(out) - 1))
            out = out[:i] + out[i + 1:]
        else:
            i = draw(st.integers(0, len(out)))
            out = out[:i] + draw(st.characters()) + out[i:]
    return out


PROPERTY = settings(max_examples=3000, deadline=None, database=None, derandomize=True,
                    suppress_health_check=list(HealthCheck))


def _last_char_variants(token: str) -> list[str]:
    """The texts that differ from ``token`` only in the last character of the signature
    and decoded to the same bytes under lenient base64 (2 unused bits: 3 of them)."""
    head, last = token[:-1], token[-1]
    base = B64URL.index(last) & ~0b11
    return [head + B64URL[base + k] for k in range(4) if B64URL[base + k] != last]


def test_the_issued_token_is_read_back() -> None:
    assert read_bidder_token(SECRET, TOKEN) == CLAIMS


@PROPERTY
@given(mutant=mutants(TOKEN))
def test_every_string_other_than_the_issued_bidder_token_is_refused(mutant: str) -> None:
    assume(mutant != TOKEN)
    try:
        claims = read_bidder_token(SECRET, mutant)
    except TokenError:
        return
    raise AssertionError(f"{mutant!r} was accepted as {claims}")


def test_the_known_variants_of_a_bidder_token_are_each_refused() -> None:
    signed, _, signature = TOKEN.rpartition(".")
    variants = [*_last_char_variants(TOKEN), TOKEN + "=", TOKEN + "==",
                f"{signed}=.{signature}", TOKEN.replace("-", "+").replace("_", "/")]
    assert len(set(variants) - {TOKEN}) >= 5
    for variant in set(variants) - {TOKEN}:
        try:
            read_bidder_token(SECRET, variant)
        except TokenError:
            continue
        raise AssertionError(f"{variant!r} was accepted")


@PROPERTY
@given(mutant=mutants(HOST_TOKEN))
def test_every_string_other_than_a_staff_token_finds_no_staff(mutant: str) -> None:
    assume(mutant != HOST_TOKEN)
    assert StaffDirectory(STAFF).lookup(mutant) is None


def test_a_staff_token_finds_its_staff_member() -> None:
    staff = StaffDirectory(STAFF).lookup(HOST_TOKEN)
    assert staff is not None and staff.staff_id == "alice"


async def test_variants_of_a_bidder_token_are_refused_over_http_and_websocket(
        server: Server) -> None:
    lot_id, tokens = await server.open_lot()
    token = tokens[0]
    signed, _, signature = token.rpartition(".")
    variants = sorted({*_last_char_variants(token), token + "=", f"{signed}=.{signature}",
                       token.replace("-", "+").replace("_", "/"), token.upper()} - {token})
    status, view = await server.call("GET", f"/api/lots/{lot_id}", token=token)
    assert status == 200 and "you" in view
    before = server.seq(lot_id)
    for variant in variants:
        status, data = await server.call("GET", f"/api/lots/{lot_id}", token=variant)
        assert status == 401 and data["error"]["code"] in ("bad_token", "unauthorized"), \
            (variant, status, data)
        client = await server.connect()
        message: dict[str, Any] = {"type": "subscribe", "lot_id": lot_id, "token": variant}
        await client.send(message)
        reply = await client.recv()
        assert reply["type"] == "error" and reply["code"] == "bad_token", (variant, reply)
        await client.close()
    assert server.seq(lot_id) == before
