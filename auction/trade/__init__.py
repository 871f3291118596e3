"""The trade around a lot (RULES.md "Before and after the auction"): aggregates other than
lots (:mod:`auction.aggregate`), one module per kind, pure like the rest of ``auction/``."""
