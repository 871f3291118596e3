"""The trade around a lot (RULES.md "Before and after the auction"): notices, bidder
accounts, applications and their review, deposits through the bank, the result notice
and objections, the confirmation, the webhooks' outbox: aggregates other than lots
(:mod:`auction.aggregate`) as pure deciders, one module per kind, pure like the rest of
``auction/``."""
