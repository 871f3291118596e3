"""The bytes a receipt signs (engine.signatures.receipt_message) are, for any values a
receipt can carry, exactly the key-sorted compact JSON the receipt format defines, as
Python's json module writes it: a receipt signed before keeps verifying, and a client
that builds the message the standard way checks it."""

import json

from hypothesis import given
from hypothesis import strategies as st

from engine.signatures import ReceiptKey, check_receipt, receipt_message

#: Text as a JSON document may carry it (no lone surrogates: they are not UTF-8).
text = st.text(st.characters(exclude_categories=("Cs",)))


def standard(lot_id: str, seq: int, digest: str, amount: str | None,
             act: str | None) -> bytes:
    return json.dumps({"v": "auction-receipt/1", "lot": lot_id, "seq": seq, "hash": digest,
                       "amount": amount, "act": act}, sort_keys=True,
                      separators=(",", ":"), ensure_ascii=False).encode()


@given(text, st.integers(min_value=0, max_value=2**63 - 1), text,
       st.none() | text, st.none() | text)
def test_the_signed_bytes_are_the_standard_key_sorted_compact_json(
        lot_id: str, seq: int, digest: str, amount: str | None, act: str | None) -> None:
    assert receipt_message(lot_id, seq, digest, amount, act) == standard(
        lot_id, seq, digest, amount, act)


def test_a_receipt_verifies_and_an_altered_one_does_not() -> None:
    key = ReceiptKey.ephemeral()
    ack = {"lot_id": "L-土地-1", "seq": 42, "hash": "ab" * 32, "amount": "1,000.00",
           "act": None}
    ack["receipt"] = key.sign(ack["lot_id"], ack["seq"], ack["hash"], ack["amount"], None)
    assert check_receipt(key.public, ack)
    assert not check_receipt(key.public, {**ack, "amount": "1,000.01"})
    assert not check_receipt(key.public, {**ack, "seq": "42"})
