"""Receipts (engine.signatures): the bytes a receipt covers are, for any values a receipt
can carry, exactly the key-sorted compact JSON the receipt format defines, as Python's
json module writes it, so that a client building them the standard way checks them; the
receipts of one flush share one signature over the root of a hash tree and each one
checks alone with its path; a receipt signed alone before (version 1) keeps verifying."""

import base64
import hashlib
import json
from typing import Any

import nacl.signing
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from hypothesis import given
from hypothesis import strategies as st

from engine.signatures import (
    MAX_PATH,
    ReceiptKey,
    check_receipt,
    check_receipts,
    receipt_message,
)

#: Text as a JSON document may carry it (no lone surrogates: they are not UTF-8).
text = st.text(st.characters(exclude_categories=("Cs",)))


def standard(lot_id: str, seq: int, digest: str, amount: str | None,
             act: str | None, version: str = "auction-receipt/2") -> bytes:
    return json.dumps({"v": version, "lot": lot_id, "seq": seq, "hash": digest,
                       "amount": amount, "act": act}, sort_keys=True,
                      separators=(",", ":"), ensure_ascii=False).encode()


@given(text, st.integers(min_value=0, max_value=2**63 - 1), text,
       st.none() | text, st.none() | text)
def test_the_receipts_bytes_are_the_standard_key_sorted_compact_json(
        lot_id: str, seq: int, digest: str, amount: str | None, act: str | None) -> None:
    assert receipt_message(lot_id, seq, digest, amount, act) == standard(
        lot_id, seq, digest, amount, act)
    assert receipt_message(lot_id, seq, digest, amount, act, "auction-receipt/1") == \
        standard(lot_id, seq, digest, amount, act, "auction-receipt/1")


def acks(n: int) -> list[dict[str, Any]]:
    return [{"lot_id": f"L-土地-{i % 3}", "seq": 40 + i, "hash": f"{i:02x}" * 32,
             "amount": f"{1000 + i},000.00", "act": None if i % 2 else "proxy"}
            for i in range(n)]


def signed(key: ReceiptKey, batch: list[dict[str, Any]]) -> list[dict[str, Any]]:
    receipts = key.sign_all([(a["lot_id"], a["seq"], a["hash"], a["amount"], a["act"])
                             for a in batch])
    return [{**a, "receipt": r.signature, "receipt_path": r.path}
            for a, r in zip(batch, receipts, strict=True)]


def reference_root(leaves: list[bytes]) -> bytes:
    """The tree's root by its definition, recursively: pairs from the left, level by
    level, an odd last node going up as it is."""
    if len(leaves) == 1:
        return leaves[0]
    up = [hashlib.sha256(b"\x01" + leaves[i] + leaves[i + 1]).digest()
          for i in range(0, len(leaves) - 1, 2)]
    return reference_root(up + leaves[len(leaves) - len(leaves) % 2:])


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5, 7, 8, 9, 16, 33])
def test_the_receipts_of_one_flush_share_one_signature_and_each_checks_alone(n: int) -> None:
    key = ReceiptKey.ephemeral()
    batch = signed(key, acks(n))
    assert key.signatures == 1
    assert len({r["receipt"] for r in batch}) == 1
    leaves = [hashlib.sha256(b"\x00" + standard(a["lot_id"], a["seq"], a["hash"],
                                                 a["amount"], a["act"])).digest()
              for a in batch]
    root = reference_root(leaves)
    public = ed25519.Ed25519PublicKey.from_public_bytes(base64.b64decode(key.public))
    public.verify(base64.b64decode(batch[0]["receipt"]),
                  b'{"root":"' + root.hex().encode() + b'","v":"auction-receipt/2"}')
    for receipt in batch:
        assert len(receipt["receipt_path"]) <= max(1, (n - 1).bit_length())
        assert check_receipt(key.public, receipt)


def test_an_altered_receipt_or_path_does_not_check() -> None:
    key, other = ReceiptKey.ephemeral(), ReceiptKey.ephemeral()
    first, second, third = signed(key, acks(3))
    assert check_receipt(key.public, second)
    assert not check_receipt(other.public, second)
    assert not check_receipt(key.public, {**second, "amount": "1,001.01"})
    assert not check_receipt(key.public, {**second, "seq": str(second["seq"])})
    assert not check_receipt(key.public, {**second, "act": "proxy"})
    # another receipt's path, a step's side swapped, a step dropped, a step of bad form
    assert not check_receipt(key.public, {**second, "receipt_path": first["receipt_path"]})
    swapped = [("R" if s[0] == "L" else "L") + s[1:] for s in second["receipt_path"]]
    assert not check_receipt(key.public, {**second, "receipt_path": swapped})
    assert not check_receipt(key.public, {**second, "receipt_path": second["receipt_path"][1:]})
    for bad in (None, "L" + "00" * 32, ["X" + "00" * 32], ["L" + "zz" * 32], ["L00"], [7],
                ["L" + "00" * 32] * (MAX_PATH + 1)):
        assert not check_receipt(key.public, {**second, "receipt_path": bad})
    # the signature alone, without a path, is no version 1 receipt of the same ack
    assert not check_receipt(key.public, {k: v for k, v in third.items()
                                          if k != "receipt_path"})


def test_a_receipt_signed_alone_before_receipts_were_signed_together_still_checks() -> None:
    private = ed25519.Ed25519PrivateKey.generate()
    key = ReceiptKey(private)
    raw = private.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                                serialization.NoEncryption())
    ack = {"lot_id": "L-土地-1", "seq": 42, "hash": "ab" * 32, "amount": "1,000.00",
           "act": None}
    version_1 = standard(ack["lot_id"], 42, ack["hash"], ack["amount"], None,
                         "auction-receipt/1")
    ack["receipt"] = base64.b64encode(
        nacl.signing.SigningKey(raw).sign(version_1).signature).decode()
    assert check_receipt(key.public, ack)
    assert not check_receipt(key.public, {**ack, "amount": "1,000.01"})
    assert not check_receipt(key.public, {**ack, "receipt_path": []})


def test_a_receipts_file_of_both_versions_is_checked_against_the_export() -> None:
    key = ReceiptKey.ephemeral()
    batch = [a for a in signed(key, acks(6)) if a["lot_id"] == "L-土地-0"]
    export = {"lot_id": "L-土地-0",
              "events": [{"seq": a["seq"], "hash": a["hash"]} for a in batch[:-1]]}
    problems, held = check_receipts(export, {"key": key.public, "receipts": batch})
    assert held == len(batch) - 1
    assert len(problems) == 1 and f"seq {batch[-1]['seq']}" in problems[0]
