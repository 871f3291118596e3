"""The verifiable draw, recomputed here from RULES.md's words with hashlib only."""

import hashlib

import pytest

from auction import draw
from auction.english import English
from auction.formats import register
from auction.model import DrawCommitted, register_event


def test_the_commitment_is_the_sha256_of_the_seed() -> None:
    assert draw.commitment("abc") == hashlib.sha256(b"abc").hexdigest()


def test_the_winner_is_the_sorted_candidate_at_the_hash_of_seed_and_lot_mod_n() -> None:
    seed, lot_id = "5eed" * 16, "L-LAND-1"
    candidates = ["7311", "0420", "5002"]
    ordered, index, winner = draw.draw(seed, lot_id, candidates)
    expected = int(hashlib.sha256((seed + lot_id).encode()).hexdigest(), 16) % 3
    assert ordered == ["0420", "5002", "7311"]
    assert index == expected and winner == ordered[expected]


def test_a_draw_needs_a_candidate() -> None:
    with pytest.raises(ValueError):
        draw.draw_index("s", "L", 0)


def test_a_format_or_event_type_cannot_be_registered_twice() -> None:
    with pytest.raises(ValueError):
        register(English())
    with pytest.raises(ValueError):
        register_event(type("DrawCommitted", (DrawCommitted,), {}))
