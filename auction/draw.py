"""The verifiable draw (摇号) of RULES.md: commit to a seed when the lot opens, reveal it at
the draw; anyone holding the published hash, the seed, the candidates and the
contributions can recompute the winner with nothing but SHA-256.

- commitment: ``sha256(seed)`` as lowercase hex (the seed is text, UTF-8);
- candidates: bidder numbers, sorted as strings;
- contributions: values no single party controls, fixed after the seed was committed and
  before it is revealed, in the order of the sorted candidates: in a bidder-sealed
  ``sealed`` lot the tied candidates' commitments (hashes of prices and salts only each
  bidder knew), in a ``listing_timed`` cap lottery the random values (:data:`RANDOM_HEX`)
  the candidates' declarations carried; none in a draw of the operator's seed alone;
- winner: ``candidates[int(sha256(seed + lot_id + mix), 16) mod len(candidates)]`` where
  ``mix`` is ``"|" + c`` for each contribution ``c`` in order (empty when there are none:
  the formula of draws recorded before contributions existed).
"""

import hashlib
import re
from collections.abc import Sequence

#: A bidder's random value (a sealed bid's salt, a draw contribution): 32 to 128
#: lowercase hex digits (128 to 512 bits).
RANDOM_HEX = re.compile(r"[0-9a-f]{32,128}")


def commitment(seed: str) -> str:
    """The published hash of ``seed``."""
    return hashlib.sha256(seed.encode()).hexdigest()


def draw_index(seed: str, lot_id: str, count: int, contributions: Sequence[str] = ()) -> int:
    """Index of the winner among ``count`` sorted candidates (``count`` > 0)."""
    if count <= 0:
        raise ValueError("a draw needs at least one candidate")
    mix = "".join(f"|{c}" for c in contributions)
    return int(hashlib.sha256((seed + lot_id + mix).encode()).hexdigest(), 16) % count


def draw(seed: str, lot_id: str, candidates: list[str],
         contributions: Sequence[str] = ()) -> tuple[list[str], int, str]:
    """``(sorted candidates, index, winner)`` of the draw among ``candidates``."""
    ordered = sorted(candidates)
    index = draw_index(seed, lot_id, len(ordered), contributions)
    return ordered, index, ordered[index]
