"""Check characters of the parties' identifiers: unified social credit codes (GB 32100)
and resident identity numbers (GB 11643)."""

import pytest

from auction.trade.identity import (
    id_check_char,
    is_resident_id,
    is_uscc,
    party_code_problem,
    uscc_check_char,
)

#: Published examples: a credit code and the identity number of GB 11643's annex.
CODE = "91350100M000100Y43"
PERSON = "11010519491231002X"


def test_a_published_credit_code_holds_and_any_changed_character_breaks_it() -> None:
    assert is_uscc(CODE)
    assert uscc_check_char(CODE[:17]) == "3"
    assert not is_uscc(CODE[:17] + "4")
    assert not is_uscc("81350100M000100Y43")


@pytest.mark.parametrize("code", ["", "91350100M000100Y4", "91350100M000100Y433",
                                  "91350100I000100Y43", "91350100m000100Y43"])
def test_a_credit_code_of_the_wrong_length_or_alphabet_is_refused(code: str) -> None:
    assert not is_uscc(code)


def test_a_check_character_of_zero_is_written_0() -> None:
    # Search the last character's value that makes the sum a multiple of 31.
    first = next(CODE[:16] + c for c in "0123456789ABCDEFGHJKLMNPQRTUWXY"
                 if uscc_check_char(CODE[:16] + c) == "0")
    assert is_uscc(first + "0")


def test_the_standards_example_identity_number_holds_with_its_x() -> None:
    assert is_resident_id(PERSON)
    assert id_check_char(PERSON[:17]) == "X"
    assert not is_resident_id(PERSON[:17] + "x")
    assert not is_resident_id(PERSON[:17] + "1")


@pytest.mark.parametrize("number", ["1101051949123100", "11010519491331002X",
                                    "1101051949123100AX", "110105194912310０2X"])
def test_an_identity_number_malformed_or_with_no_real_birth_date_is_refused(
        number: str) -> None:
    assert not is_resident_id(number)


def test_the_problem_of_a_party_code_depends_on_the_kind_of_party() -> None:
    assert party_code_problem("organisation", CODE) == ""
    assert party_code_problem("person", PERSON) == ""
    assert "credit code" in party_code_problem("organisation", PERSON)
    assert "identity number" in party_code_problem("person", CODE)
    assert "kind must be" in party_code_problem("robot", CODE)
