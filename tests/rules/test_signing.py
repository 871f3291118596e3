"""Signed bidder actions in the rules: enrolment, the checks before deciding, the record,
and verification of a record whose signed fields were changed."""

import base64
import dataclasses
import hashlib
import json
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from hypothesis import example, given, settings
from hypothesis import strategies as st

from auction import signing
from auction.errors import InvalidParams
from auction.model import Act, CloseExtended, EnrollKey, KeyEnrolled, PlaceBid, RevokeTokens
from auction.record import seal
from auction.verify import build_export, dumps, verify
from auction.views import bidder_view, redact, snapshot
from engine.signatures import Signer, _p256_der, _p256_verify

from .support import HOST, MINUTE, T0, Lot, cny, english


def lot_with(mode: str, *bidders: str) -> Lot:
    return Lot(english(signatures=mode)).open(*bidders)


def enrol(lot: Lot, bidder_id: str, signer: Signer) -> None:
    lot.accept(EnrollKey(bidder_id=bidder_id, alg=signer.alg, key=signer.key,
                         certificate=signer.certificate))


def signed_bid(lot: Lot, bidder_id: str, amount: str, signer: Signer, *,
               seen: int | None = None, **changes: Any) -> PlaceBid:
    bidder = lot.s.bidders[bidder_id]
    signed = signer.signed(lot.s.lot_id, bidder.bidder_no, "bid", cny(amount),
                           lot.s.version if seen is None else seen)
    signed.update(changes)
    return PlaceBid(bidder_id=bidder_id, amount=cny(amount), signed=signed)


def test_the_signatures_parameter_is_off_unless_a_lot_says_optional_or_required() -> None:
    assert Lot().s.signatures == "off"
    assert lot_with("required").s.signatures == "required"
    assert signing.parse_mode({"signatures": "optional", "step": "1"}) == ("optional",
                                                                           {"step": "1"})
    with pytest.raises(InvalidParams):
        signing.parse_mode({"signatures": "sometimes"})


def _create(mode: str) -> Any:
    from auction.model import CreateLot
    return CreateLot(lot_id="lot-2", session_id="", format="english", title="t",
                     params=english(signatures=mode), actor=HOST)


def test_a_lot_with_an_unknown_signatures_mode_is_not_created() -> None:
    from auction.lot import decide
    refused = decide(None, _create("sometimes"), T0)
    assert getattr(refused, "code", None) == "invalid_params"


def test_a_signed_bid_is_accepted_and_its_event_keeps_the_signature_and_nonce() -> None:
    lot, signer = lot_with("required", "b1"), Signer.ecdsa_p256()
    enrol(lot, "b1", signer)
    cmd = signed_bid(lot, "b1", "100.00", signer)
    event = lot.accept(cmd)[0]
    assert event.signed == cmd.signed
    assert lot.s.bidders["b1"].nonces == {cmd.signed["nonce"]}  # type: ignore[index]
    assert lot.replayed() == lot.s


def test_an_unsigned_bid_is_refused_where_signatures_are_required_and_nothing_changes() -> None:
    lot = lot_with("required", "b1")
    enrol(lot, "b1", Signer.ecdsa_p256())
    lot.refuse_bid("b1", "100.00", "signature_required")


def test_under_optional_a_bidder_without_a_key_bids_unsigned_and_one_with_a_key_signs() -> None:
    lot, signer = lot_with("optional", "b1", "b2"), Signer.ecdsa_p256()
    lot.take("b1", "100.00")
    enrol(lot, "b2", signer)
    lot.refuse_bid("b2", "110.00", "signature_required")
    lot.accept(signed_bid(lot, "b2", "110.00", signer))


def test_a_signed_bid_of_a_bidder_without_a_key_is_refused() -> None:
    lot = lot_with("required", "b1")
    lot.refuse(signed_bid(lot, "b1", "100.00", Signer.ecdsa_p256()), "no_key")


def test_a_wrong_signature_is_refused_and_nothing_changes() -> None:
    lot, signer = lot_with("required", "b1"), Signer.ecdsa_p256()
    enrol(lot, "b1", signer)
    good = signed_bid(lot, "b1", "100.00", signer)
    # signed for 100.00, sent for 110.00
    lot.refuse(dataclasses.replace(good, amount=cny("110.00")), "bad_signature")
    # signed by another key
    lot.refuse(signed_bid(lot, "b1", "100.00", Signer.ecdsa_p256()), "bad_signature")


@pytest.mark.parametrize("signed", [
    "not an object", {"seen": 1, "nonce": "abcdefgh"},
    {"seen": -1, "nonce": "abcdefgh", "sig": "AA"},
    {"seen": True, "nonce": "abcdefgh", "sig": "AA"}, {"seen": 1, "nonce": "short", "sig": "AA"},
    {"seen": 1, "nonce": "abcdefgh", "sig": "not base64!"},
])
def test_a_malformed_signature_is_refused(signed: Any) -> None:
    lot = lot_with("required", "b1")
    enrol(lot, "b1", Signer.ecdsa_p256())
    lot.refuse(PlaceBid(bidder_id="b1", amount=cny("100.00"), signed=signed), "bad_signature")


def test_a_replayed_signature_is_refused_and_nothing_changes() -> None:
    lot, signer = lot_with("required", "b1", "b2"), Signer.ecdsa_p256()
    enrol(lot, "b1", signer)
    first = signed_bid(lot, "b1", "100.00", signer)
    lot.accept(first)
    lot.refuse(first, "replayed_signature")
    # a message signed for a sequence number the lot has not reached
    lot.refuse(signed_bid(lot, "b1", "110.00", signer, seen=lot.s.version + 1),
               "replayed_signature")


def test_an_action_other_than_a_bid_is_signed_over_its_name() -> None:
    lot, signer = lot_with("required", "b1"), Signer.ecdsa_p256()
    enrol(lot, "b1", signer)
    bidder = lot.s.bidders["b1"]
    signed = signer.signed(lot.s.lot_id, bidder.bidder_no, "bid", None, lot.s.version)
    refused = lot.refuse(Act(bidder_id="b1", act="proxy", signed=signed), "bad_signature")
    assert refused.detail


def test_the_message_holds_an_actions_further_fields() -> None:
    plain = signing.message("L", "0731", "commit", None, 3, "abcdefgh")
    more = signing.message("L", "0731", "commit", None, 3, "abcdefgh", {"commitment": "ab"})
    assert json.loads(more) == {**json.loads(plain), "commitment": "ab"}
    assert json.loads(plain) == {"v": signing.VERSION, "lot": "L", "bidder_no": "0731",
                                 "action": "commit", "amount": None, "seen": 3,
                                 "nonce": "abcdefgh"}


@settings(max_examples=300, deadline=None)
@given(texts=st.lists(st.text(), min_size=4, max_size=4),
       amount=st.one_of(st.none(), st.integers(min_value=0)),
       seen=st.integers(min_value=0, max_value=2**70),
       fields=st.dictionaries(st.text(), st.text(), max_size=3))
@example(texts=["L", "0731", "bid", "\ud800"], amount=1, seen=0, fields={})
@example(texts=["L", "0731", "bid", "abcdefgh"], amount=2**70, seen=2**70, fields={})
def test_the_message_is_the_compact_key_sorted_json_whatever_its_text(
        texts: list[str], amount: int | None, seen: int, fields: dict[str, str]) -> None:
    """The message is the compact, key-sorted UTF-8 JSON (what the room's JavaScript
    writes too), for any text, any integer; text UTF-8 cannot hold (a lone surrogate) is
    refused."""
    lot_id, bidder_no, action, nonce = texts
    args = (lot_id, bidder_no, action, amount, seen, nonce, fields)
    body = {**fields, "v": signing.VERSION, "lot": lot_id, "bidder_no": bidder_no,
            "action": action, "amount": None if amount is None else str(amount),
            "seen": seen, "nonce": nonce}
    try:
        expected = json.dumps(body, sort_keys=True, separators=(",", ":"),
                              ensure_ascii=False).encode()
    except UnicodeEncodeError:
        with pytest.raises(UnicodeEncodeError):
            signing.message(*args)
        return
    assert signing.message(*args) == expected


def test_signatures_off_ignores_a_signature_and_refuses_enrolment() -> None:
    lot, signer = lot_with("off", "b1"), Signer.ecdsa_p256()
    lot.refuse(EnrollKey(bidder_id="b1", alg=signer.alg, key=signer.key), "not_supported")
    events = lot.accept(PlaceBid(bidder_id="b1", amount=cny("100.00"),
                                 signed={"seen": 0, "nonce": "abcdefgh", "sig": "AA"}))
    assert events[0].signed is None


def test_enrolment_checks_the_bidder_the_lot_and_the_key() -> None:
    lot, signer = lot_with("required", "b1"), Signer.ecdsa_p256()
    lot.refuse(EnrollKey(bidder_id="nobody", alg=signer.alg, key=signer.key), "not_eligible")
    lot.refuse(EnrollKey(bidder_id="b1", alg=signer.alg, key=signer.key, token_gen=5),
               "bad_token")
    lot.refuse(EnrollKey(bidder_id="b1", alg="rsa", key=signer.key), "bad_key")
    lot.refuse(EnrollKey(bidder_id="b1", alg=signer.alg, key="AAAA"), "bad_key")
    lot.refuse(EnrollKey(bidder_id="b1", alg=signer.alg, key=signer.key, certificate="x"),
               "bad_key")
    lot.refuse(EnrollKey(bidder_id="b1", alg=signer.alg, key=1), "bad_key")  # type: ignore[arg-type]
    lot.refuse(EnrollKey(bidder_id="b1", alg=signer.alg, key=signer.key),
               "closed", at=T0 + 2 * MINUTE)


def test_a_key_is_replaced_before_it_signs_and_after_staff_revoke_the_bidders_tokens() -> None:
    lot, first, second = lot_with("required", "b1", "b2"), Signer.ecdsa_p256(), Signer.ecdsa_p256()
    rival = Signer.ecdsa_p256()
    enrol(lot, "b2", rival)
    enrol(lot, "b1", first)
    enrol(lot, "b1", second)  # nothing signed yet: replaced
    lot.accept(signed_bid(lot, "b1", "100.00", second))
    lot.refuse(EnrollKey(bidder_id="b1", alg=first.alg, key=first.key), "key_in_use")
    lot.accept(RevokeTokens(bidder_id="b1", actor=HOST, reason="the bidder lost its device"))
    enrol(lot, "b1", first)
    lot.accept(signed_bid(lot, "b2", "110.00", rival))
    lot.refuse(signed_bid(lot, "b1", "120.00", second), "bad_signature")  # the old key
    lot.accept(signed_bid(lot, "b1", "120.00", first))
    assert [type(e) for e in lot.events].count(KeyEnrolled) == 4


def test_an_unregistered_algorithm_verifies_nothing() -> None:
    lot, signer = lot_with("required", "b1"), Signer.ecdsa_p256()
    signing.register(signing.Algorithm("test-alg", lambda key, cert: None,
                                       lambda key, cert, msg, sig: True))
    lot.accept(EnrollKey(bidder_id="b1", alg="test-alg", key="k"))
    del signing.ALGORITHMS["test-alg"]
    lot.refuse(signed_bid(lot, "b1", "100.00", signer), "bad_signature")


def test_the_verification_a_check_makes_is_told_ahead_of_deciding() -> None:
    lot, signer = lot_with("optional", "b1", "b2"), Signer.ecdsa_p256()
    enrol(lot, "b1", signer)
    cmd = signed_bid(lot, "b1", "100.00", signer)
    what = signing.verification(lot.s, cmd)
    assert what is not None
    algorithm, key, certificate, message, sig = what
    assert (algorithm.name, key, certificate, sig) == (signer.alg, signer.key, "",
                                                        cmd.signed["sig"])  # type: ignore[index]
    assert message == signing.message_of(lot.s, lot.s.bidders["b1"], cmd)
    assert algorithm.verify(key, certificate, message, sig)
    # None wherever the check verifies nothing: unsigned, malformed, no such bidder, no
    # key, a command that is not signable, a lot that does not sign, an unknown algorithm.
    unsigned = PlaceBid(bidder_id="b1", amount=cny("100.00"))
    malformed = dataclasses.replace(cmd, signed={"sig": "x"})
    stranger = dataclasses.replace(cmd, bidder_id="nobody")
    numbered = dataclasses.replace(cmd, bidder_id=7)
    keyless = dataclasses.replace(cmd, bidder_id="b2")
    revoke = RevokeTokens(bidder_id="b1", actor=HOST, reason="lost")
    beyond = signed_bid(lot, "b1", "100.00", signer, seen=lot.s.version + 1)
    for other in (unsigned, malformed, stranger, numbered, keyless, revoke, beyond):
        assert signing.verification(lot.s, other) is None, other
    assert signing.verification(lot_with("off", "b1").s, cmd) is None
    assert signing.verification(lot.s, cmd, {"sm2"}) is None  # not among those asked for
    assert signing.verification(lot.s, cmd, {signer.alg}) == what
    algorithms = dict(signing.ALGORITHMS)
    signing.ALGORITHMS.clear()
    try:
        assert signing.verification(lot.s, cmd) is None
    finally:
        signing.ALGORITHMS.update(algorithms)
    lot.accept(cmd)
    assert signing.verification(lot.s, cmd) is None  # its nonce is used: refused as such


def test_views_say_whether_a_lot_signs_and_whether_the_bidder_has_a_key() -> None:
    lot, signer = lot_with("optional", "b1"), Signer.ecdsa_p256()
    assert snapshot(lot.s, "public")["params"]["signatures"] == "optional"
    assert bidder_view(lot.s, "b1")["key"] is None  # type: ignore[index]
    enrol(lot, "b1", signer)
    assert bidder_view(lot.s, "b1")["key"] == {  # type: ignore[index]
        "alg": "ecdsa-p256", "id": hashlib.sha256(signer.key.encode()).hexdigest()[:16]}
    assert "key" not in (bidder_view(Lot().open("b1").s, "b1") or {})


def _export(lot: Lot) -> dict[str, Any]:
    records = seal(lot.s.lot_id, 1, "0" * 64, lot.events)
    return build_export(lot.s, records)


def _rehashed(doc: dict[str, Any]) -> str:
    """The export with its chain computed again over its (changed) events, as a forger
    who holds the database would."""
    records = []
    from auction.record import GENESIS, chain
    prev = GENESIS
    for entry in doc["events"]:
        prev = chain(prev, doc["lot_id"], entry["seq"], entry["event"])
        records.append({**entry, "hash": prev})
    doc = {**doc, "events": records}
    doc["outcome"] = {**doc["outcome"], "last_hash": prev}
    return dumps(doc)


def test_a_signed_record_verifies_and_one_with_a_signed_field_changed_and_rehashed_fails() -> None:
    lot, signer = lot_with("required", "b1", "b2"), Signer.ecdsa_p256()
    other = Signer.ecdsa_p256()
    enrol(lot, "b1", signer)
    enrol(lot, "b2", other)
    lot.accept(signed_bid(lot, "b1", "100.00", signer))
    lot.accept(signed_bid(lot, "b2", "110.00", other))
    lot.tick(T0 + MINUTE)
    doc = _export(lot)
    assert verify(dumps(doc)).ok, verify(dumps(doc)).summary
    bid = next(e for e in doc["events"] if e["event"]["type"] == "BidAccepted"
               and e["event"]["bidder_id"] == "b2")
    for field, value in (("amount", cny("120.00")), ("signed", {**bid["event"]["signed"],
                                                                 "seen": 1})):
        forged = json.loads(json.dumps(doc))
        target = forged["events"][bid["seq"] - 1]["event"]
        target[field] = value
        result = verify(_rehashed(forged))
        assert not result.ok
        assert result.discrepancy is not None
        assert result.discrepancy.seq == bid["seq"]
        assert "bad_signature" in result.discrepancy.detail


def test_the_public_and_other_bidders_see_neither_keys_nor_signatures() -> None:
    lot, signer = lot_with("required", "b1", "b2"), Signer.ecdsa_p256()
    enrol(lot, "b1", signer)
    lot.accept(signed_bid(lot, "b1", "100.00", signer))
    records = seal(lot.s.lot_id, 1, "0" * 64, lot.events)
    enrolled, bid = records[-2], records[-1]
    assert redact(lot.s, enrolled, "public") == {"seq": enrolled.seq, "type": "KeyEnrolled",
                                                 "at": enrolled.event.at}
    assert redact(lot.s, enrolled, "bidder", "b2") == redact(lot.s, enrolled, "public")
    assert "signed" not in redact(lot.s, bid, "public")
    assert redact(lot.s, bid, "staff")["signed"] == bid.event.signed
    # an event the shared rules show the public as it is, but for its signature
    other = dataclasses.replace(records[0], event=CloseExtended(
        at=T0, actor="system", closes_at=T0 + MINUTE, reason="", signed={"sig": "x"}))
    assert "signed" not in redact(lot.s, other, "public")


@given(st.binary(min_size=64, max_size=64))
@example(bytes(64))
@example(b"\x80" + bytes(31) + b"\x00\x7f" + bytes(30))
@example(bytes(31) + b"\x01" + b"\xff" * 32)
def test_a_p256_signature_becomes_the_der_that_cryptography_makes_of_it(raw: bytes) -> None:
    sig = base64.b64encode(raw).decode()
    r, s = int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big")
    assert _p256_der(sig) == encode_dss_signature(r, s)
    assert _p256_der(base64.urlsafe_b64encode(raw).decode()) == encode_dss_signature(r, s)


@pytest.mark.parametrize("sig", ["", "AA==", base64.b64encode(bytes(63)).decode(),
                                 base64.b64encode(bytes(65)).decode(), "not base64!"])
def test_a_p256_signature_of_another_length_or_not_base64_has_no_der(sig: str) -> None:
    assert _p256_der(sig) is None


def test_p256_signatures_verify_whatever_their_integers_lengths() -> None:
    # One signature in 128 has an r or s below 2**248 (a shorter DER integer): many
    # signatures cover both lengths and both high bits.
    signer, message = Signer.ecdsa_p256(), b"auction-action/1"
    lengths = set()
    for _ in range(600):
        sig = signer.sign(message)
        der = _p256_der(sig)
        assert der is not None
        lengths.add(len(der))
        assert _p256_verify(signer.key, "", message, sig)
        assert not _p256_verify(signer.key, "", message + b".", sig)
    assert len(lengths) >= 3
