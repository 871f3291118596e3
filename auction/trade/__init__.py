"""The trade around a lot (RULES.md "Before and after the auction"): notices, bidder
accounts, applications and their review, as pure deciders (:mod:`auction.aggregate`)."""
