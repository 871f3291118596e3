"""The verifiable draw (摇号) of RULES.md: commit to a seed when the lot opens, reveal it at
the draw; anyone holding the published hash, the seed and the candidates can recompute
the winner with nothing but SHA-256.

- commitment: ``sha256(seed)`` as lowercase hex (the seed is text, UTF-8);
- candidates: bidder numbers, sorted as strings;
- winner: ``candidates[int(sha256(seed + lot_id), 16) mod len(candidates)]``.
"""

import hashlib


def commitment(seed: str) -> str:
    """The published hash of ``seed``."""
    return hashlib.sha256(seed.encode()).hexdigest()


def draw_index(seed: str, lot_id: str, count: int) -> int:
    """Index of the winner among ``count`` sorted candidates (``count`` > 0)."""
    if count <= 0:
        raise ValueError("a draw needs at least one candidate")
    return int(hashlib.sha256((seed + lot_id).encode()).hexdigest(), 16) % count


def draw(seed: str, lot_id: str, candidates: list[str]) -> tuple[list[str], int, str]:
    """``(sorted candidates, index, winner)`` of the draw among ``candidates``."""
    ordered = sorted(candidates)
    index = draw_index(seed, lot_id, len(ordered))
    return ordered, index, ordered[index]
