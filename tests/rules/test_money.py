"""Money is exact: decimal strings outside, integer minor units inside (RULES.md)."""

import pytest
from capitals import CAPITALS

from auction.errors import InvalidAmount
from auction.money import CURRENCY_DECIMALS, capital_amount, format_amount, parse_amount


def test_a_plain_decimal_string_becomes_integer_minor_units() -> None:
    assert parse_amount("1250000.00") == 125_000_000
    assert parse_amount("1250000.5") == 125_000_050
    assert parse_amount("1250000") == 125_000_000
    assert parse_amount("0.01") == 1


def test_a_currency_without_minor_units_takes_whole_numbers_only() -> None:
    assert CURRENCY_DECIMALS["JPY"] == 0
    assert parse_amount("1500", 0) == 1500
    with pytest.raises(InvalidAmount):
        parse_amount("1500.0", 0)


@pytest.mark.parametrize("value", [1250000.0, 0.1, 100, True, None, b"100", ["100"]])
def test_an_amount_that_is_not_a_string_is_rejected(value: object) -> None:
    with pytest.raises(InvalidAmount, match="decimal string"):
        parse_amount(value)


@pytest.mark.parametrize("text", [
    "-1", "-0.01", "+1", "1e5", "1E5", "1.5e2", "NaN", "nan", "Infinity", "inf", "",
    " 1", "1 ", "1,000", "1.", ".5", "01", "007.00", "00", "0x10", "1_000", "１００",
    "1.2.3", "¥100", "1\n",
])
def test_an_amount_that_is_not_a_plain_decimal_is_rejected(text: str) -> None:
    with pytest.raises(InvalidAmount, match="not a plain decimal"):
        parse_amount(text)


def test_an_amount_with_more_decimals_than_the_currency_has_is_rejected() -> None:
    with pytest.raises(InvalidAmount, match="more than 2 decimal places"):
        parse_amount("1.005")
    with pytest.raises(InvalidAmount, match="more than 2 decimal places"):
        parse_amount("1.000")


@pytest.mark.parametrize("text", ["0", "0.0", "0.00"])
def test_zero_is_rejected_unless_allowed(text: str) -> None:
    with pytest.raises(InvalidAmount, match="greater than zero"):
        parse_amount(text)
    assert parse_amount(text, allow_zero=True) == 0


def test_a_huge_amount_is_rejected_with_a_clear_error() -> None:
    assert parse_amount("9" * 15) == int("9" * 15) * 100
    with pytest.raises(InvalidAmount, match="above the maximum"):
        parse_amount("1" + "0" * 15)
    with pytest.raises(InvalidAmount, match="above the maximum"):
        parse_amount("9" * 100_000)


def test_an_invalid_amount_error_has_the_stable_code() -> None:
    with pytest.raises(InvalidAmount) as caught:
        parse_amount("abc")
    assert caught.value.code == "invalid_amount"
    assert caught.value.message.startswith("amount 'abc'")


@pytest.mark.parametrize(("minor", "decimals", "text"), [
    (125_000_000, 2, "1250000.00"), (1, 2, "0.01"), (0, 2, "0.00"), (-150, 2, "-1.50"),
    (1500, 0, "1500"), (7, 3, "0.007"),
])
def test_minor_units_format_with_exactly_the_currency_decimals(
        minor: int, decimals: int, text: str) -> None:
    assert format_amount(minor, decimals) == text


@pytest.mark.parametrize("text", ["0.01", "1.10", "1250000.00", "999999999999999.99"])
def test_formatting_a_parsed_amount_gives_the_canonical_string_back(text: str) -> None:
    assert format_amount(parse_amount(text)) == text


@pytest.mark.parametrize(("amount", "text"), CAPITALS)
def test_an_amount_is_written_in_capital_numerals_as_the_pages_write_it(
        amount: str, text: str) -> None:
    assert capital_amount(parse_amount(amount, allow_zero=True)) == text


def test_capital_numerals_of_a_currency_without_minor_units_and_of_one_decimal() -> None:
    assert capital_amount(1500, 0) == "壹仟伍佰元整"
    assert capital_amount(15, 1) == "壹元伍角整"
    assert capital_amount(0, 0) == "零元整"


@pytest.mark.parametrize(("minor", "decimals"), [(-1, 2), (1, 3), (1, -1)])
def test_capital_numerals_refuse_a_negative_amount_or_more_than_two_decimals(
        minor: int, decimals: int) -> None:
    with pytest.raises(ValueError, match="capital numerals"):
        capital_amount(minor, decimals)
