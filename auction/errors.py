"""The one exception hierarchy of the rules core.

Business rejections of commands are *values* (:class:`auction.model.Rejection`),
never exceptions. Exceptions are for input that cannot even form a command:
a malformed amount or malformed lot parameters.
"""


class AuctionError(Exception):
    """Base of every exception raised by the auction packages."""

    code = "error"

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class InvalidAmount(AuctionError):
    """An amount that is not a plain positive decimal string within the currency's precision."""

    code = "invalid_amount"


class InvalidParams(AuctionError):
    """Lot parameters that are missing, of the wrong type or inconsistent."""

    code = "invalid_params"


class RecordError(AuctionError):
    """An event record that cannot be decoded or whose chain does not hold."""

    code = "invalid_record"
