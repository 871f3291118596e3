"""A rejected command gets a stable machine-readable code with a human message in Chinese
and English."""

import re
from pathlib import Path

import pytest

import auction
from auction.messages import MESSAGES, message

SOURCE = Path(auction.__file__).parent
EMITTED = sorted({code for path in SOURCE.glob("*.py")
                  for code in re.findall(r'Rejection\(\s*"(\w+)"', path.read_text())})


def test_the_rules_core_emits_rejection_codes() -> None:
    assert {"closed", "not_eligible", "off_step", "already_leading"} <= set(EMITTED)


@pytest.mark.parametrize("code", EMITTED)
def test_every_rejection_code_has_a_chinese_and_an_english_message(code: str) -> None:
    text = message(code)
    assert code in MESSAGES
    assert text["zh"] and text["en"] and text["zh"] != text["en"]
    assert re.search(r"[\u4e00-\u9fff]", text["zh"])


@pytest.mark.parametrize("code", ["not_open", "closed", "paused", "not_eligible",
                                  "deposit_missing", "not_improving", "off_step",
                                  "above_ceiling", "above_cap", "jump_too_large",
                                  "already_leading", "revision_limit", "not_your_turn",
                                  "invalid_amount", "rate_limited", "forbidden"])
def test_every_code_named_by_the_rules_has_a_message(code: str) -> None:
    assert code in MESSAGES


def test_an_unknown_code_echoes_itself() -> None:
    assert message("no_such_code") == {"zh": "no_such_code", "en": "no_such_code"}
