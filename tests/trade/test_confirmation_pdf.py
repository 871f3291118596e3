"""The transaction confirmation (成交确认书) as a PDF: made for an awarded lot of every
format from the center's template, with the Chinese font embedded, the price in capital
numerals, the record's head and a QR code; signed with the center's key (PAdES) and the
signature validated by pyHanko against the center's certificate."""

from __future__ import annotations

import io
import random
import string
from pathlib import Path

import pytest
from pyhanko.keys import load_cert_from_pemder
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko_certvalidator import ValidationContext
from records.listing_lots import lottery_lot
from records.sim import SimLot, honest_companies, honest_lot
from records.test_clock_records import dutch_lot, japanese_lot
from records.test_multi_round_records import rounds_lot
from records.test_sealed_records import played

from auction.default import DeclareDefault
from auction.money import capital_amount
from web import confirmation as conf

SIGN_BY = 1_767_657_600_000


def english_lot() -> SimLot:
    rng = random.Random(7)
    return honest_lot(rng, "L-EN", honest_companies(rng, 3))


LOTS = {"english": english_lot, "dutch": dutch_lot, "japanese": japanese_lot,
        "sealed": played, "multi_round": rounds_lot, "listing_timed": lottery_lot}


@pytest.fixture(scope="module")
def signing(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return conf.signing_files(tmp_path_factory.mktemp("data"), None, None, "某市公共资源交易中心")


def document(lot: SimLot, signing: tuple[Path, Path],
             template: string.Template | None = None) -> tuple[bytes, dict[str, str]]:
    terms = conf.terms_of(lot.s, lot.records)
    assert terms is not None, f"{lot.lot_id} is {lot.s.status}"
    values = conf.fields(lot.s, terms, center_name="某市公共资源交易中心",
                         center_contact="0571-12345678", payment_days=10,
                         issued_at=terms.awarded_at + 1000, sign_by=SIGN_BY,
                         verify_url=f"https://jy.example.cn/result/{lot.lot_id}")
    template = template or conf.load_template(conf.DEFAULT_TEMPLATE)
    unsigned = conf.render(template, values, conf.find_font(None), values["verify_url"],
                           f"成交确认书 {lot.lot_id}")
    key, cert = signing
    import asyncio
    signed = asyncio.run(conf.sign(unsigned, key, cert, reason="成交确认书", location="CN"))
    return signed, values


def text_of(pdf: bytes) -> str:
    """The document's text as a reader extracts it (pypdf, through the font's ToUnicode)."""
    from pypdf import PdfReader

    return "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


@pytest.mark.parametrize("fmt", sorted(LOTS))
def test_an_awarded_lot_of_every_format_gets_a_signed_confirmation_that_validates(
        fmt: str, signing: tuple[Path, Path]) -> None:
    lot = LOTS[fmt]()
    assert lot.s.format == fmt
    pdf, values = document(lot, signing)
    reader = PdfFileReader(io.BytesIO(pdf))
    [signature] = reader.embedded_signatures
    trust = ValidationContext(trust_roots=[load_cert_from_pemder(str(signing[1]))])
    status = validate_pdf_signature(signature, trust)
    assert status.intact and status.valid and status.trusted, status.pretty_print_details()
    assert status.coverage.name == "ENTIRE_FILE"
    outcome = lot.s.outcome
    assert outcome is not None and outcome.amount is not None
    assert values["price_capital"] == capital_amount(outcome.amount)
    text = text_of(pdf)
    assert values["price_capital"] in text
    assert values["head_hash"] == lot.records[-1].hash
    assert values["head_hash"] in text.replace("\n", "")
    assert lot.s.bidders[outcome.bidder_id or ""].name in text


@pytest.mark.parametrize("fmt", sorted(set(LOTS) - {"dutch"}))  # a dutch lot has no runner-up
def test_after_a_default_the_runner_up_s_document_carries_its_own_price_in_words(
        fmt: str, signing: tuple[Path, Path]) -> None:
    lot = LOTS[fmt]()
    first = lot.s.outcome
    assert first is not None and first.bidder_id is not None
    lot.do(DeclareDefault(actor="host1", reason="逾期未签署成交确认书", then="runner_up"),
           lot.records[-1].event.at + 1000)
    runner = lot.s.outcome
    assert runner is not None and runner.bidder_id not in (None, first.bidder_id)
    assert runner.amount is not None
    pdf, values = document(lot, signing)
    text = text_of(pdf)
    assert values["price_capital"] == capital_amount(runner.amount)
    assert values["price_capital"] in text
    assert lot.s.bidders[runner.bidder_id or ""].name in text
    assert lot.s.bidders[first.bidder_id].name not in text


def test_the_document_embeds_its_chinese_font_and_declares_pdf_a_2b(
        signing: tuple[Path, Path]) -> None:
    pdf, _ = document(dutch_lot(), signing)
    assert b"/FontFile2" in pdf  # the TrueType font is embedded (as a subset)
    assert b"pdfaid:part" in pdf and b"/OutputIntents" in pdf
    assert "成交确认书" in text_of(pdf)


def test_the_price_the_deposit_and_the_balance_are_written_in_figures_and_in_words(
        signing: tuple[Path, Path]) -> None:
    lot = dutch_lot()  # accepted at 980,000.00 with a deposit of 50,000.00
    _, values = document(lot, signing)
    assert (values["price"], values["deposit"], values["balance"]) == (
        "980,000.00", "50,000.00", "930,000.00")
    assert values["price_capital"] == "玖拾捌万元整"
    assert values["balance_capital"] == "玖拾叁万元整"


def test_the_center_s_own_template_is_used_and_a_misspelt_placeholder_is_refused(
        tmp_path: Path, signing: tuple[Path, Path]) -> None:
    own = tmp_path / "confirmation.txt"
    own.write_text("# 成交确认书（本中心格式）\n成交人 $winner_name 以 $price_capital 成交。\n",
                   encoding="utf-8")
    pdf, values = document(dutch_lot(), signing, conf.load_template(own))
    assert f"成交人 {values['winner_name']} 以 玖拾捌万元整 成交。" in text_of(pdf)
    own.write_text("成交价 $prise\n", encoding="utf-8")
    with pytest.raises(conf.TemplateError, match="prise"):
        conf.load_template(own)


def test_the_center_s_key_is_made_once_and_kept_private(tmp_path: Path) -> None:
    key, cert = conf.signing_files(tmp_path, None, None, "")
    assert key.stat().st_mode & 0o777 == 0o600
    assert conf.signing_files(tmp_path, None, None, "") == (key, cert)
    assert key.read_bytes() == conf.signing_files(tmp_path, None, None, "")[0].read_bytes()
