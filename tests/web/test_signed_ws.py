"""Signed bids over the WebSocket protocol (docs/protocol.md, Signed actions) and the
server's receipts (docs/records.md, Receipts): real sockets, the one Python client core
(web.client) signing with ECDSA P-256 and with an SM2 key and certificate made by the
``openssl`` command, and ``auction verify`` on the export."""

import asyncio
import base64
import json
import shutil
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)
from web_support import Server

from auction import signing
from auction.lot import replay
from auction.record import GENESIS, chain, event_from_dict
from auction.verify import dumps, outcome_of
from engine.signatures import Signer, Verifier, check_receipt
from web.client import LotClient
from web.keys import RECEIPTS

AUCTION = Path(sys.executable).with_name("auction")


async def signed_lot(server: Server, mode: str = "required") -> tuple[str, list[str]]:
    return await server.open_lot(signatures=mode)


async def client(server: Server, lot_id: str, token: str, signer: Signer | None) -> LotClient:
    bidder = LotClient(server.ws_url, lot_id, token, signer=signer)
    await bidder.connect()
    await bidder.wait_for(lambda c: c.bidder_no is not None and c.state)
    return bidder


def sm2_signer(tmp_path: Path) -> Signer:
    """An SM2 key and a self-signed SM3-with-SM2 certificate, made by ``openssl``."""
    openssl = shutil.which("openssl")
    assert openssl is not None, "the openssl command is needed to make an SM2 certificate"
    key, cert = tmp_path / "sm2.key", tmp_path / "sm2.pem"
    subprocess.run([openssl, "genpkey", "-algorithm", "EC", "-pkeyopt",
                    "ec_paramgen_curve:SM2", "-out", str(key)], check=True, capture_output=True)
    subprocess.run([openssl, "req", "-new", "-x509", "-key", str(key), "-sm3", "-sigopt",
                    "distid:1234567812345678", "-subj", "/CN=bidder/O=某某建设有限公司",
                    "-days", "2", "-out", str(cert)], check=True, capture_output=True)
    return Signer.sm2(key.read_bytes(), cert.read_text())


async def test_a_signed_bid_is_acked_with_a_receipt_that_the_published_key_verifies(
        server: Server) -> None:
    lot_id, tokens = await signed_lot(server)
    bidder = await client(server, lot_id, tokens[0], Signer.ecdsa_p256())
    enrolled = await bidder.enrol()
    assert enrolled["type"] == "ack" and enrolled["act"] == "enrol", enrolled
    ack = await bidder.bid("100.00")
    assert ack["type"] == "ack", ack
    key = await server.ok("GET", "/.well-known/auction-receipt-key", token=None)
    assert key["alg"] == "ed25519"
    assert check_receipt(key["key"], ack)
    assert not check_receipt(key["key"], {**ack, "amount": "1000.00"})
    assert not check_receipt(key["key"], {**enrolled, "seq": ack["seq"]})
    events = (await server.ok("GET", f"/api/lots/{lot_id}/events"))["events"]
    recorded = next(e for e in events if e["seq"] == ack["seq"])
    assert recorded["hash"] == ack["hash"]
    assert recorded["event"]["signed"]["sig"]


async def test_a_bid_with_a_missing_wrong_or_replayed_signature_is_refused_and_changes_nothing(
        server: Server) -> None:
    lot_id, tokens = await signed_lot(server)
    signer = Signer.ecdsa_p256()
    bidder = await client(server, lot_id, tokens[0], signer)
    assert (await bidder.enrol())["type"] == "ack"
    before = server.seq(lot_id)

    unsigned = {**bidder.session.bid("100.00")}
    del unsigned["sig"]
    refused = await bidder.request(unsigned)
    assert (refused["type"], refused["code"]) == ("rejected", "signature_required")

    wrong = bidder.session.bid("100.00")
    wrong["amount"] = "110.00"  # signed for 100.00
    refused = await bidder.request(wrong)
    assert (refused["type"], refused["code"]) == ("rejected", "bad_signature")

    other = bidder.session.bid("100.00")
    other["sig"] = Signer.ecdsa_p256().signed(lot_id, bidder.bidder_no or "", "bid", 10000,
                                              bidder.last_seq)
    refused = await bidder.request(other)
    assert (refused["type"], refused["code"]) == ("rejected", "bad_signature")

    ahead = bidder.session.bid("100.00")
    ahead["sig"] = signer.signed(lot_id, bidder.bidder_no or "", "bid", 10000,
                                 bidder.last_seq + 5)
    refused = await bidder.request(ahead)
    assert (refused["type"], refused["code"]) == ("rejected", "replayed_signature")
    assert server.seq(lot_id) == before, "a refused bid changed the record"

    good = bidder.session.bid("100.00")
    assert (await bidder.request(good))["type"] == "ack"
    replay = {**good, "ref": "again-1"}
    bidder.session.pending.add("again-1")
    refused = await bidder.request(replay)
    assert (refused["type"], refused["code"]) == ("rejected", "replayed_signature")
    assert server.seq(lot_id) == before + 1
    await bidder.close()


async def test_a_bid_signed_with_an_sm2_certificate_is_accepted_and_auction_verify_checks_it(
        server: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    lot_id, tokens = await signed_lot(server)
    sm2, p256 = sm2_signer(tmp_path), Signer.ecdsa_p256()
    # No thread to spare: SM2 (tens of ms of Python) is still verified off the loop.
    monkeypatch.setattr(server.engine, "verifier", Verifier(0))
    a = await client(server, lot_id, tokens[0], sm2)
    b = await client(server, lot_id, tokens[1], p256)
    # a certificate whose key is not the one enrolled is refused
    mismatched = {**a.session.enrol(), "key": "04" + "11" * 64}
    refused = await a.request(mismatched)
    assert (refused["type"], refused["code"]) == ("rejected", "bad_key")
    assert (await a.enrol())["type"] == "ack"
    assert (await b.enrol())["type"] == "ack"
    assert (await a.bid("100.00"))["type"] == "ack"
    await b.wait_for(lambda c: c.state.get("best") == "100.00")
    assert (await b.bid("110.00"))["type"] == "ack"
    await a.wait_for(lambda c: c.state.get("best") == "110.00")
    assert (await a.bid("120.00"))["type"] == "ack"
    assert server.engine.verifier.made == 2  # a's bids; b's ECDSA one in the writer
    server.engine.verifier.close()
    export = await server.ok("GET", f"/api/lots/{lot_id}/export")
    path = tmp_path / "export.json"
    path.write_text(dumps(export))
    done = subprocess.run([str(AUCTION), "verify", str(path)], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    enrolled = [e["event"] for e in export["events"] if e["event"]["type"] == "KeyEnrolled"]
    assert {e["alg"] for e in enrolled} == {"sm2", "ecdsa-p256"}
    assert "BEGIN CERTIFICATE" in next(e["certificate"] for e in enrolled if e["alg"] == "sm2")
    for client_ in (a, b):
        await client_.close()


def rechained(doc: dict[str, Any], drop_seq: int) -> dict[str, Any]:
    """The export without event ``drop_seq``, renumbered and hashed again: what an operator
    who deletes a bid from the database and rebuilds the chain would publish."""
    events = [dict(e) for e in doc["events"] if e["seq"] != drop_seq]
    prev = GENESIS
    for index, entry in enumerate(events):
        entry["seq"] = index + 1
        prev = entry["hash"] = chain(prev, doc["lot_id"], index + 1, entry["event"])
    state = replay([event_from_dict(e["event"]) for e in events])
    assert state is not None
    return {**doc, "events": events, "outcome": outcome_of(state, len(events), prev)}


async def test_a_receipt_of_a_bid_removed_from_the_record_is_reported(
        server: Server, tmp_path: Path) -> None:
    lot_id, tokens = await signed_lot(server, "optional")
    a = await client(server, lot_id, tokens[0], None)
    b = await client(server, lot_id, tokens[1], None)
    first = await a.bid("100.00")
    await b.wait_for(lambda c: c.state.get("best") == "100.00")
    assert (await b.bid("110.00"))["type"] == "ack"
    await a.wait_for(lambda c: c.state.get("best") == "110.00")
    last = await a.bid("120.00")
    key = await server.ok("GET", "/.well-known/auction-receipt-key", token=None)
    receipts = tmp_path / "receipts.json"
    receipts.write_text(json.dumps({"key": key["key"], "receipts": [first, last]}))
    export = await server.ok("GET", f"/api/lots/{lot_id}/export")
    whole = tmp_path / "export.json"
    whole.write_text(dumps(export))
    done = subprocess.run([str(AUCTION), "verify", "--receipts", str(receipts), str(whole)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "2 receipts held by the export, 0 not." in done.stdout

    # the operator removes the last bid and hashes the chain again: the export holds by
    # itself (a bid less is still a valid auction), but the bidder's receipt proves it
    forged = tmp_path / "forged.json"
    forged.write_text(dumps(rechained(export, last["seq"])))
    done = subprocess.run([str(AUCTION), "verify", "--receipts", str(receipts), str(forged)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 1, done.stdout + done.stderr
    assert f"RECEIPT NOT HELD: lot {lot_id} seq {last['seq']} (bid 120.00)" in done.stdout
    assert "1 receipt held by the export, 1 not." in done.stdout
    for client_ in (a, b):
        await client_.close()


@pytest.mark.parametrize("mode", ["sometimes", 1])
async def test_a_lot_with_an_unknown_signatures_mode_is_refused(server: Server,
                                                                 mode: Any) -> None:
    status, body = await server.call("POST", "/api/sessions", {"name": "s"})
    assert status == 201
    status, body = await server.call("POST", "/api/lots", {
        "session_id": body["session_id"], "title": "t", "format": "english",
        "params": {"start_price": "1.00", "step": "1.00", "duration_s": 60,
                   "signatures": mode}})
    assert status == 400, body


def test_an_sm2_signature_made_by_openssl_verifies_here_and_one_made_here_by_openssl(
        tmp_path: Path) -> None:
    """The SM2 of gmssl and of OpenSSL are the same standard: SM3 over Z_A ‖ message with
    the default user id, either side checking the other's signature."""
    signer = sm2_signer(tmp_path)
    message = signing.message("L-1", "4821", "bid", 126000000, 41, "q0Xc5oT2_mVZ1f8k")
    data, sig = tmp_path / "message", tmp_path / "sig.der"
    data.write_bytes(message)
    openssl = shutil.which("openssl")
    assert openssl is not None, "the openssl command is needed for SM2 signatures"
    subprocess.run([openssl, "pkeyutl", "-sign", "-rawin", "-digest", "sm3", "-inkey",
                    str(tmp_path / "sm2.key"), "-pkeyopt", "distid:1234567812345678",
                    "-in", str(data), "-out", str(sig)], check=True, capture_output=True)
    r, s = decode_dss_signature(sig.read_bytes())
    raw = base64.b64encode(r.to_bytes(32, "big") + s.to_bytes(32, "big")).decode()
    sm2 = signing.ALGORITHMS["sm2"]
    assert sm2.verify(signer.key, signer.certificate, message, raw)
    assert not sm2.verify(signer.key, signer.certificate, message + b" ", raw)

    ours = base64.b64decode(signer.sign(message))
    sig.write_bytes(encode_dss_signature(int.from_bytes(ours[:32], "big"),
                                         int.from_bytes(ours[32:], "big")))
    done = subprocess.run([openssl, "pkeyutl", "-verify", "-rawin", "-digest", "sm3",
                           "-certin", "-inkey", str(tmp_path / "sm2.pem"), "-pkeyopt",
                           "distid:1234567812345678", "-in", str(data), "-sigfile", str(sig)],
                          capture_output=True, text=True)
    assert done.returncode == 0 and "Signature Verified Successfully" in done.stdout, done


async def test_signatures_are_verified_ahead_in_threads_and_not_again_by_the_writer(
        server: Server, monkeypatch: pytest.MonkeyPatch) -> None:
    """A signed bid's signature is verified before its lot's writer decides it, in a
    thread (OpenSSL lets the event loop run meanwhile); the rules take that outcome and do
    not verify again, a bad signature included. With no thread to spare ECDSA is verified
    in the writer, as a thread would only add its hand-over."""
    from engine import signatures

    threads: list[int] = []

    def recording(key: str, certificate: str, message: bytes, sig: str) -> bool:
        threads.append(threading.get_ident())
        return signatures._p256_verify(key, certificate, message, sig)

    monkeypatch.setattr(signatures, "_AHEAD", {})  # (what earlier tests' refusals left)
    monkeypatch.setitem(signing.ALGORITHMS, signatures.ECDSA_P256, signing.Algorithm(
        signatures.ECDSA_P256, signatures._p256_check, signatures._remembered(recording)))
    loop_thread = threading.get_ident()
    # Two threads whatever CPUs this machine gives the tests (the default is covered by
    # tests/engine/test_verifier.py).
    verifier = signatures.Verifier(2)
    monkeypatch.setattr(server.engine, "verifier", verifier)
    lot_id, tokens = await signed_lot(server)
    signer = Signer.ecdsa_p256()
    bidder = await client(server, lot_id, tokens[0], signer)
    assert (await bidder.enrol())["type"] == "ack"
    made = verifier.made
    assert (await bidder.bid("100.00"))["type"] == "ack"
    assert len(threads) == 1 and threads[0] != loop_thread
    assert verifier.made == made + 1 and not signatures._AHEAD  # taken by the rules
    # A signature that does not verify: refused on the outcome found ahead.
    forged = bidder.session.bid("110.00")
    forged["amount"] = "111.00"  # signed for 110.00
    refused = await bidder.request(forged)
    assert (refused["type"], refused["code"]) == ("rejected", "bad_signature"), refused
    assert len(threads) == 2 and threads[1] != loop_thread and not signatures._AHEAD
    # No thread to spare (one CPU, or verify_threads 0): ECDSA is verified by the writer.
    verifier.close()
    monkeypatch.setattr(server.engine, "verifier", signatures.Verifier(0))
    try:
        forged = bidder.session.bid("120.00")
        forged["amount"] = "121.00"
        refused = await bidder.request(forged)
        assert (refused["type"], refused["code"]) == ("rejected", "bad_signature"), refused
        assert threads[2:] == [loop_thread] and server.engine.verifier.made == 0
    finally:
        server.engine.verifier.close()
    await bidder.close()


async def test_the_acks_of_one_flush_share_one_signature_and_each_receipt_checks_alone(
        server: Server) -> None:
    # Bids on ten lots at once, from ten sockets: their commits land together, and the
    # acks that leave in one flush carry one signature over the root of their tree.
    lots = [await server.open_lot() for _ in range(10)]
    bidders = [[await client(server, lot_id, token, None) for token in tokens]
               for lot_id, tokens in lots]
    key = await server.ok("GET", "/.well-known/auction-receipt-key", token=None)
    assert key["message"] == "auction-receipt/2"
    shared = False
    for round_no in range(5):
        acks = await asyncio.gather(*(pair[round_no % 2].bid(f"{100 + 10 * round_no}.00")
                                      for pair in bidders))
        assert all(ack["type"] == "ack" for ack in acks), acks
        for ack in acks:
            assert check_receipt(key["key"], ack)
            assert not check_receipt(key["key"], {**ack, "amount": "1.00"})
        by_signature: dict[str, list[dict[str, Any]]] = {}
        for ack in acks:
            by_signature.setdefault(ack["receipt"], []).append(ack)
        for together in by_signature.values():
            assert len({len(a["receipt_path"]) for a in together}) <= 2
            shared |= len(together) > 1
    assert shared, "no two acks of ten bids made at once left in one flush"
    for pair in bidders:
        for bidder in pair:
            await bidder.close()


async def test_acks_and_updates_still_go_out_when_their_receipts_cannot_be_signed(
        server: Server, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    lot_id, tokens = await server.open_lot()
    watcher = await client(server, lot_id, tokens[1], None)
    bidder = await client(server, lot_id, tokens[0], None)

    def broken(receipts: list[Any]) -> list[Any]:
        raise RuntimeError("the receipt key is unavailable")

    monkeypatch.setattr(server.app[RECEIPTS], "sign_all", broken)
    ack = await bidder.bid("100.00")
    assert ack["type"] == "ack" and "receipt" not in ack and ack["hash"]
    await watcher.wait_for(lambda c: c.last_seq >= ack["seq"], timeout=10)
    assert "signing 1 receipts failed" in caplog.text
    monkeypatch.undo()
    again = await watcher.bid("110.00")
    key = await server.ok("GET", "/.well-known/auction-receipt-key", token=None)
    assert check_receipt(key["key"], again)
    await bidder.close()
    await watcher.close()
