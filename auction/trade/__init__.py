"""The trade around a lot (RULES.md "Before and after the auction"): notices, bidder
accounts, applications and their review, deposits through the bank: aggregates other
than lots (:mod:`auction.aggregate`) as pure deciders, one module per kind."""
