"""The transaction confirmation (成交确认书) as a signed PDF.

What goes into it comes from the lot's permanent record (winner, price, deposit, the
record's head) and the center's settings; how it reads is the center's template, a text
file with ``$placeholders`` (:data:`PLACEHOLDERS`; the default is
``web/templates/confirmation.txt``, a center's own is ``DATA/confirmation.txt`` or the
setting ``confirmation_template``). A line starting with ``# `` is the title, ``## `` a
subtitle; every other line a paragraph. The PDF embeds a Chinese font (a subset of the
TrueType file ``pdf_font``, Debian's fonts-droid-fallback by default), draws a QR code of
the public result page as vector squares, and is signed by the center's key with a PAdES
signature (pyHanko). The key and its certificate are the files ``signing_key`` and
``signing_cert``; when neither is set, a key and a self-signed certificate are made on
first use in ``DATA/signing/`` (mode 0600) and reused.

Reached: PDF 1.7 with embedded fonts, document metadata in XMP and a PAdES B-B signature
(``ETSI.CAdES.detached``). Not claimed: PDF/A-2b conformance (the generator writes no
output intent with an ICC profile, and the signature is an incremental update).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import io
import os
import string
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from auction.money import capital_amount, format_amount
from auction.record import Recorded
from auction.state import LotState
from auction.units import awards_of
from auction.workdays import CHINA

DEFAULT_TEMPLATE = Path(__file__).parent / "templates" / "confirmation.txt"
#: The center's own template, when present in the data directory.
DATA_TEMPLATE = "confirmation.txt"
SIGNING_DIR = "signing"
FONT_CANDIDATES = (
    Path("/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf"),
    Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"),
)
#: Latin letters the Chinese font lacks (DroidSansFallback has none) come from this one
#: (Debian's fonts-dejavu-core), when installed.
LATIN_FONTS = (Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"),)

#: Every placeholder a template may use, and what it holds.
PLACEHOLDERS: dict[str, str] = {
    "center_name": "the center's name (setting center_name)",
    "center_contact": "how to reach the center (setting center_contact)",
    "lot_id": "the lot's id",
    "lot_title": "the lot's title",
    "format": "the lot's format (english, sealed, ...)",
    "winner_name": "the winner's name as registered",
    "winner_no": "the winner's bidder number",
    "winner_id": "the winner's id",
    "currency": "the lot's currency (CNY)",
    "price": "the price in figures, grouped (1,250,000.00): of every unit won",
    "units": "how many units the winner won (1 but in a multi-unit lot)",
    "unit_price": "the price of one unit in figures, grouped",
    "price_capital": "the price in Chinese capital numerals (大写)",
    "deposit": "the winner's deposit in figures (0.00 without one)",
    "deposit_capital": "the deposit in capital numerals",
    "balance": "price minus deposit in figures (what the winner still pays)",
    "balance_capital": "the balance in capital numerals",
    "payment_days": "working days to pay the balance after signing (setting payment_days)",
    "awarded_at": "when the lot was awarded (China time, YYYY-MM-DD HH:MM:SS)",
    "issued_at": "when the confirmation was issued (China time)",
    "sign_by": "the end of the signing window (China time)",
    "head_seq": "the sequence number of the record's last event the document was made from",
    "head_hash": "that event's chain hash",
    "verify_url": "the public result page, also in the QR code",
}


class TemplateError(ValueError):
    """A template that names a placeholder not in :data:`PLACEHOLDERS`."""


def load_template(path: Path) -> string.Template:
    template = string.Template(path.read_text(encoding="utf-8"))
    unknown = sorted(set(template.get_identifiers()) - set(PLACEHOLDERS))
    if unknown or not template.is_valid():
        raise TemplateError(f"{path}: unknown placeholders {unknown} (known: "
                            f"{', '.join(PLACEHOLDERS)})" if unknown
                            else f"{path}: a $ that names no placeholder (write $$ for $)")
    return template


def find_font(configured: Path | None) -> Path:
    """The TrueType font with Chinese glyphs to embed: ``configured``, else the first of
    :data:`FONT_CANDIDATES` installed; FileNotFoundError naming the Debian package."""
    if configured is not None:
        if not configured.is_file():
            raise FileNotFoundError(f"pdf_font {configured} does not exist")
        return configured
    for path in FONT_CANDIDATES:
        if path.is_file():
            return path
    raise FileNotFoundError("no Chinese TrueType font: install Debian's fonts-droid-fallback "
                            "(./dev does) or set pdf_font")


def china_time(at_ms: int) -> str:
    return dt.datetime.fromtimestamp(at_ms / 1000, CHINA).strftime("%Y-%m-%d %H:%M:%S")


def _grouped(minor: int, decimals: int) -> str:
    text = format_amount(minor, decimals)
    whole, dot, frac = text.partition(".")
    return f"{int(whole):,}{dot}{frac}"


@dataclass(frozen=True)
class Terms:
    """What the record says the confirmation confirms."""

    lot_id: str
    bidder_id: str
    bidder_no: str
    name: str
    amount: int
    deposit: int
    currency: str
    awarded_at: int
    head_seq: int
    head_hash: str
    #: How many units ``amount`` pays for (a multi-unit lot's award, :mod:`auction.units`).
    units: int = 1


def terms_of(state: LotState, records: list[Recorded],
             bidder_no: str | None = None) -> Terms | None:
    """The confirmation's terms when ``state`` is awarded, else None: of the award of
    ``bidder_no`` (a winner of a multi-unit lot; None: the first winner), the price of
    every unit it won."""
    awards = awards_of(state)
    award = next((a for a in awards if bidder_no in (None, a.bidder_no)), None)
    if state.status != "awarded" or award is None or state.outcome is None:
        return None
    bidder = state.bidders[award.bidder_id]
    head = records[-1]
    return Terms(state.lot_id, bidder.bidder_id, bidder.bidder_no, bidder.name,
                 award.amount * award.units, bidder.deposit or 0, state.params.currency,
                 state.outcome.at, head.seq, head.hash, award.units)


def fields(state: LotState, terms: Terms, *, center_name: str, center_contact: str,
           payment_days: int, issued_at: int, sign_by: int, verify_url: str
           ) -> dict[str, str]:
    """The value of every placeholder."""
    decimals = state.params.decimals
    balance = max(terms.amount - terms.deposit, 0)
    return {
        "center_name": center_name, "center_contact": center_contact,
        "lot_id": state.lot_id, "lot_title": state.title, "format": state.format,
        "winner_name": terms.name, "winner_no": terms.bidder_no, "winner_id": terms.bidder_id,
        "currency": terms.currency,
        "price": _grouped(terms.amount, decimals),
        "units": str(terms.units), "unit_price": _grouped(terms.amount // terms.units, decimals),
        "price_capital": capital_amount(terms.amount, decimals),
        "deposit": _grouped(terms.deposit, decimals),
        "deposit_capital": capital_amount(terms.deposit, decimals),
        "balance": _grouped(balance, decimals),
        "balance_capital": capital_amount(balance, decimals),
        "payment_days": str(payment_days),
        "awarded_at": china_time(terms.awarded_at), "issued_at": china_time(issued_at),
        "sign_by": china_time(sign_by), "head_seq": str(terms.head_seq),
        "head_hash": terms.head_hash, "verify_url": verify_url,
    }


def render(template: string.Template, values: dict[str, str], font: Path, qr_url: str,
           title: str) -> bytes:
    """The unsigned PDF (blocking: run it in an executor)."""
    import qrcode  # type: ignore[import-untyped]
    from fpdf import FPDF

    pdf = FPDF(format="A4", enforce_compliance="PDF/A-2B")
    pdf.set_title(title)
    pdf.set_author(values["center_name"] or "auction-engine")
    pdf.set_creator("auction-engine")
    pdf.set_lang("zh-CN")
    pdf.set_creation_date(dt.datetime.fromisoformat(values["issued_at"]).replace(tzinfo=CHINA))
    pdf.add_font("cjk", fname=str(font))
    latin = next((path for path in LATIN_FONTS if path.is_file()), None)
    if latin is not None:
        pdf.add_font("latin", fname=str(latin))
        pdf.set_fallback_fonts(["latin"])
    pdf.add_page()
    width = pdf.epw
    for line in template.substitute(values).splitlines():
        if line.startswith("# "):
            pdf.set_font("cjk", size=20)
            pdf.cell(width, 12, line[2:].strip(), align="C", new_x="LMARGIN", new_y="NEXT")
        elif line.startswith("## "):
            pdf.set_font("cjk", size=12)
            pdf.cell(width, 8, line[3:].strip(), align="C", new_x="LMARGIN", new_y="NEXT")
            pdf.ln(4)
        elif not line.strip():
            pdf.ln(4)
        else:
            pdf.set_font("cjk", size=10.5)
            pdf.multi_cell(width, 6.5, line, new_x="LMARGIN", new_y="NEXT")
    # The QR code of the public result page, drawn as squares (vector, no image).
    code = qrcode.QRCode(border=0, error_correction=qrcode.constants.ERROR_CORRECT_M)
    code.add_data(qr_url)
    code.make(fit=True)
    matrix = code.get_matrix()
    size = 32.0
    cell = size / len(matrix)
    x0 = pdf.w - pdf.r_margin - size
    y0 = max(pdf.get_y() + 6, pdf.h - pdf.b_margin - size - 8)
    if y0 + size > pdf.h - pdf.b_margin:
        pdf.add_page()
        y0 = pdf.t_margin
    pdf.set_fill_color(0, 0, 0)
    for row, bits in enumerate(matrix):
        for col, dark in enumerate(bits):
            if dark:
                pdf.rect(x0 + col * cell, y0 + row * cell, cell, cell, style="F")
    pdf.set_font("cjk", size=8)
    pdf.set_xy(x0 - 60, y0 + size - 4)
    pdf.cell(58, 4, "扫码核验 Scan to verify", align="R")
    return bytes(pdf.output())


# ------------------------------------------------------------------------ signing


def signing_files(data_dir: Path, key: Path | None, cert: Path | None,
                  center_name: str) -> tuple[Path, Path]:
    """The center's signing key and certificate: the configured files, else
    ``DATA/signing/center-key.pem`` and ``center-cert.pem``, made on first use (an RSA
    key and a self-signed certificate valid for ten years)."""
    if key is not None and cert is not None:
        return key, cert
    folder = data_dir / SIGNING_DIR
    key_path, cert_path = folder / "center-key.pem", folder / "center-cert.pem"
    if key_path.is_file() and cert_path.is_file():
        return key_path, cert_path
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    private = rsa.generate_private_key(public_exponent=65537, key_size=3072)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME,
                                         center_name or "Public Resource Trading Center"),
                      x509.NameAttribute(NameOID.COUNTRY_NAME, "CN")])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(private.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(
            digital_signature=True, content_commitment=True, key_encipherment=False,
            data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=False,
            encipher_only=False, decipher_only=False), critical=True)
        .sign(private, hashes.SHA256()))
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(private.private_bytes(serialization.Encoding.PEM,
                                        serialization.PrivateFormat.PKCS8,
                                        serialization.NoEncryption()))
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    return key_path, cert_path


async def sign(pdf: bytes, key: Path, cert: Path, *, reason: str, location: str) -> bytes:
    """``pdf`` with the center's PAdES signature (pyHanko)."""
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import fields as sig_fields
    from pyhanko.sign import signers

    signer = signers.SimpleSigner.load(str(key), str(cert))
    if signer is None:
        raise ValueError(f"cannot load the signing key {key} and certificate {cert}")
    meta = signers.PdfSignatureMetadata(
        field_name="CenterSignature", md_algorithm="sha256",
        subfilter=sig_fields.SigSeedSubFilter.PADES, reason=reason, location=location)
    out = await signers.PdfSigner(meta, signer).async_sign_pdf(
        IncrementalPdfFileWriter(io.BytesIO(pdf)))
    assert isinstance(out, io.BytesIO)
    return out.getvalue()


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


async def make_document(state: LotState, terms: Terms, *, template: string.Template,
                        font: Path, key: Path, cert: Path, values: dict[str, Any]) -> bytes:
    """The signed confirmation of ``state`` (rendering runs in an executor)."""
    loop = asyncio.get_running_loop()
    unsigned = await loop.run_in_executor(
        None, render, template, values, font, values["verify_url"],
        f"成交确认书 {state.lot_id}")
    return await sign(unsigned, key, cert, reason=f"成交确认书 {state.lot_id}",
                      location=values["center_name"] or "CN")
