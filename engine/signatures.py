"""The cryptography of signed bids and of receipts, from maintained libraries.

* ``ecdsa-p256``: ECDSA over P-256 with SHA-256 (``cryptography``), as a browser makes it
  with a non-extractable WebCrypto key. The key is the base64 of its SubjectPublicKeyInfo
  (DER, WebCrypto's ``spki`` export); a signature is the base64 of ``r ‖ s`` (32 bytes
  each, WebCrypto's form).
* ``sm2``: SM2 (GM/T 0003) with SM3 over ``Z_A ‖ message``, ``Z_A`` made with the
  standard's default user id ``1234567812345678`` (GM/T 0009), by ``gmssl``. The bidder
  enrols its X.509 certificate (PEM, read by ``asn1crypto``); the key is the hex of the
  certificate's public point (``04 ‖ x ‖ y``) and must match it. A signature is the base64
  of ``r ‖ s``.

Importing this module registers both with the rules (:func:`auction.signing.register`).
:class:`Signer` signs for clients (the demo's bidders, tests, the load generator).

Receipts: the server signs every acknowledgement with its deployment key (Ed25519: kept
and loaded by ``cryptography``, signed with libsodium through ``PyNaCl``), over
:func:`receipt_message` (lot, sequence number, event hash, amount, action); anyone checks
a receipt with the published key (:func:`check_receipt`).
"""

import asyncio
import base64
import binascii
import collections
import functools
import hashlib
import os
import secrets
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nacl.signing
import orjson
from asn1crypto import keys as asn1_keys  # type: ignore[import-untyped]
from asn1crypto import pem as asn1_pem
from asn1crypto import x509 as asn1_x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from gmssl import sm2  # type: ignore[import-untyped]

from auction import signing
from auction.state import LotState

ECDSA_P256, SM2 = "ecdsa-p256", "sm2"
#: The OID of the SM2 curve (GM/T 0006) in a certificate's public key.
SM2_CURVE = "1.2.156.10197.1.301"
_SM2_N = int(sm2.default_ecc_table["n"], 16)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _unb64(text: str) -> bytes:
    return base64.b64decode(text.replace("-", "+").replace("_", "/"), validate=True)


def _raw_rs(sig: str, size: int = 32) -> tuple[int, int] | None:
    try:
        raw = _unb64(sig)
    except (binascii.Error, ValueError):
        return None
    if len(raw) != 2 * size:
        return None
    return int.from_bytes(raw[:size], "big"), int.from_bytes(raw[size:], "big")


# --------------------------------------------------------------------------- ECDSA P-256


@functools.lru_cache(maxsize=4096)
def _p256_key(key: str) -> ec.EllipticCurvePublicKey | None:
    try:
        loaded = serialization.load_der_public_key(_unb64(key))
    except (binascii.Error, ValueError):
        return None
    if not isinstance(loaded, ec.EllipticCurvePublicKey) or loaded.curve.name != "secp256r1":
        return None
    return loaded


def _p256_check(key: str, certificate: str) -> str | None:
    if certificate:
        return "an ecdsa-p256 key is enrolled without a certificate"
    return None if _p256_key(key) is not None else (
        "the key is not the base64 SubjectPublicKeyInfo of a P-256 public key")


#: ECDSA with SHA-256, made once (a new one costs about as much as the DER below).
_ECDSA_SHA256 = ec.ECDSA(hashes.SHA256())


def _der_integer(value: bytes) -> bytes:
    """The DER INTEGER of the unsigned big-endian ``value`` (at most 126 bytes)."""
    value = value.lstrip(b"\0") or b"\0"
    if value[0] & 0x80:
        value = b"\0" + value
    return b"\x02" + bytes((len(value),)) + value


def _p256_der(sig: str) -> bytes | None:
    """The DER ``ECDSA-Sig-Value`` of a WebCrypto P-256 signature (base64 of ``r ‖ s``,
    32 bytes each), or None when ``sig`` is not one: what ``encode_dss_signature`` makes
    of the two integers, written from the bytes without making them."""
    try:
        raw = _unb64(sig)
    except (binascii.Error, ValueError):
        return None
    if len(raw) != 64:
        return None
    body = _der_integer(raw[:32]) + _der_integer(raw[32:])
    return b"\x30" + bytes((len(body),)) + body


def _p256_verify(key: str, certificate: str, message: bytes, sig: str) -> bool:
    public, der = _p256_key(key), _p256_der(sig)
    if public is None or der is None:
        return False
    try:
        public.verify(der, message, _ECDSA_SHA256)
    except InvalidSignature:
        return False
    return True


# --------------------------------------------------------------------------- SM2


@functools.lru_cache(maxsize=1024)
def sm2_point_of(certificate: str) -> str | None:
    """The hex public point (``04 ‖ x ‖ y``) of an SM2 certificate (PEM), or None when
    ``certificate`` is not an X.509 certificate of an SM2 key."""
    try:
        data = certificate.encode()
        if asn1_pem.detect(data):
            _, _, data = asn1_pem.unarmor(data)
        cert = asn1_x509.Certificate.load(data)
        info = cert["tbs_certificate"]["subject_public_key_info"]
        algorithm = info["algorithm"]
        if (algorithm["algorithm"].dotted != "1.2.840.10045.2.1"
                or algorithm["parameters"].chosen.dotted != SM2_CURVE):
            return None
        point = bytes(info["public_key"])
    except (ValueError, TypeError, KeyError, AttributeError):
        return None
    return point.hex() if len(point) == 65 and point[0] == 4 else None


def _sm2_check(key: str, certificate: str) -> str | None:
    point = sm2_point_of(certificate)
    if point is None:
        return "an sm2 key is enrolled with its X.509 certificate of an SM2 key (PEM)"
    if key.lower() != point:
        return "the key is not the public key of the certificate"
    return None


def _sm2_verify(key: str, certificate: str, message: bytes, sig: str) -> bool:
    rs = _raw_rs(sig)
    if rs is None or not all(0 < v < _SM2_N for v in rs):
        return False
    crypt = sm2.CryptSM2(private_key=None, public_key=key.lower()[2:])
    return bool(crypt.verify_with_sm3(f"{rs[0]:064x}{rs[1]:064x}", message))


# --------------------------------------------------------------------------- ahead

#: Outcomes of verifications made ahead (:class:`Verifier`) that the rules have not used
#: yet, by ``(key, certificate, message, sig)``, oldest first; at most :data:`AHEAD_KEPT`
#: (an action refused before its signature is checked leaves its outcome behind).
_AHEAD: dict[tuple[str, str, bytes, str], bool] = {}
AHEAD_KEPT = 4096


def _remembered(verify: Callable[[str, str, bytes, str], bool]
                ) -> Callable[[str, str, bytes, str], bool]:
    """``verify``, answered from :data:`_AHEAD` when it was made ahead (each outcome is
    used once: a signed action's nonce is used once)."""
    def remembered(key: str, certificate: str, message: bytes, sig: str) -> bool:
        known = _AHEAD.pop((key, certificate, message, sig), None)
        return verify(key, certificate, message, sig) if known is None else known
    remembered.__wrapped__ = verify  # type: ignore[attr-defined]  # what the threads call
    return remembered


signing.register(signing.Algorithm(ECDSA_P256, _p256_check, _remembered(_p256_verify)))
signing.register(signing.Algorithm(SM2, _sm2_check, _remembered(_sm2_verify)))

#: Algorithms verified ahead even with no threads to spare (``threads=0``): SM2 is pure
#: Python and takes tens of milliseconds, which in a thread hold the event loop up for at
#: most the interpreter's switch interval at a time instead of the whole verification.
AHEAD_ALWAYS = frozenset({SM2})


def usable_cpus() -> int:
    """The CPUs this process may run on (its affinity where the system has one)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1  # pragma: no cover - systems without affinity


@dataclass(slots=True)
class _Waiter:
    """A command waiting for its verification ahead: the outcome once known (None: not
    known ahead), let go by setting ``future``'s result."""

    future: "asyncio.Future[bool | None]"
    done: bool = False
    outcome: bool | None = None


#: A verification to make: ``(verify, key, certificate, message, sig)``.
_Verification = tuple[Callable[[str, str, bytes, str], bool], str, str, bytes, str]


class Verifier:
    """Verifies bidders' signatures ahead of their lot's writer, in ``threads`` threads
    (None: the process's CPUs less one, at most 4).

    A lot's writer decides one command at a time on the event loop; a verification in it
    (ECDSA P-256: about 40 µs of OpenSSL; SM2: tens of ms of Python) holds up that lot and
    every other the loop serves. :meth:`ahead` makes the verification the rules will make
    (:func:`auction.signing.verification`) in a thread and keeps its outcome, which the
    rules' check then takes instead of verifying again. OpenSSL releases the interpreter
    lock while it verifies, so the verifications of many bidders run on the other CPUs
    beside the loop. With no CPU to spare (``threads=0``) a thread would add its hand-over
    and gain nothing: only the algorithms of :data:`AHEAD_ALWAYS` go ahead, in one thread.
    Whatever is not known ahead (a key replaced meanwhile, a thread that failed) is
    verified by the rules as before: the outcome is a pure function of the bytes, the
    same wherever it is computed."""

    def __init__(self, threads: int | None = None) -> None:
        self.threads = max(0, min(4, usable_cpus() - 1)) if threads is None else threads
        self._pool: ThreadPoolExecutor | None = None
        #: Verifications waiting for the next hand-over to the threads.
        self._queue: list[tuple[_Verification, _Waiter]] = []
        #: Every verification handed over or queued, in the order the commands came: each
        #: command goes on to its writer in that order, whichever thread finished first.
        self._order: collections.deque[_Waiter] = collections.deque()
        #: Verifications made ahead.
        self.made = 0

    async def ahead(self, state: LotState, command: object) -> None:
        """Verify ``command``'s signature as the rules will on ``state``, in a thread;
        return once it and every verification asked for before it are done."""
        what = signing.verification(state, command, None if self.threads else AHEAD_ALWAYS)
        if what is None:
            return
        algorithm, key, certificate, message, sig = what
        loop = asyncio.get_running_loop()
        waiter = _Waiter(loop.create_future())
        # The threads call the verification itself: the outcomes are kept and taken on
        # the loop's thread only.
        verify = getattr(algorithm.verify, "__wrapped__", algorithm.verify)
        self._queue.append(((verify, key, certificate, message, sig), waiter))
        self._order.append(waiter)
        if len(self._queue) == 1:
            loop.call_soon(self._hand_over)
        good = await waiter.future
        if good is None:  # not known ahead: the rules verify it
            return
        self.made += 1
        _AHEAD[(key, certificate, message, sig)] = good
        if len(_AHEAD) > AHEAD_KEPT:
            _AHEAD.pop(next(iter(_AHEAD)), None)

    def _hand_over(self) -> None:
        """Everything queued in this turn of the loop goes to the threads in one hand-over
        per thread (a hand-over, and its answer, cost the loop more than a verification
        costs a thread's share of it)."""
        queue, self._queue = self._queue, []
        if not queue:  # closed meanwhile
            return
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max(1, self.threads), thread_name_prefix="verify")
        loop = asyncio.get_running_loop()
        size = -(-len(queue) // max(1, self.threads))
        for start in range(0, len(queue), size):
            part = queue[start:start + size]
            try:
                job = loop.run_in_executor(self._pool, _verify_all, [v for v, _ in part])
            except RuntimeError:  # closed: the rules verify them
                self._settle(part, None)
                continue
            job.add_done_callback(functools.partial(self._settled, part))

    def _settled(self, part: list[tuple[_Verification, "_Waiter"]],
                 job: "asyncio.Future[list[bool | None]]") -> None:
        outcomes = None if job.cancelled() or job.exception() is not None else job.result()
        self._settle(part, outcomes)

    def _settle(self, part: list[tuple[_Verification, "_Waiter"]],
                outcomes: list[bool | None] | None) -> None:
        """Note the outcomes of ``part`` (None: not known), then let go, in order, every
        command whose verification and every earlier one are done."""
        for i, (_, waiter) in enumerate(part):
            waiter.done, waiter.outcome = True, None if outcomes is None else outcomes[i]
        while self._order and self._order[0].done:
            waiter = self._order.popleft()
            if not waiter.future.done():  # (its command may have been cancelled)
                waiter.future.set_result(waiter.outcome)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
        queued, self._queue = self._queue, []
        self._settle(queued, None)


def _verify_all(items: list[_Verification]) -> list[bool | None]:
    """Each verification's outcome; None for one that raised (the rules make it again)."""
    outcomes: list[bool | None] = []
    for verify, key, certificate, message, sig in items:
        try:
            outcomes.append(verify(key, certificate, message, sig))
        except Exception:  # noqa: BLE001 - not known ahead; the rules will answer
            outcomes.append(None)
    return outcomes


# --------------------------------------------------------------------------- signers


@dataclass(frozen=True)
class Signer:
    """A bidder's private key, for clients: ``alg``, the ``key`` and ``certificate`` to
    enrol, and :meth:`sign`."""

    alg: str
    key: str
    certificate: str
    _private: Any

    @classmethod
    def ecdsa_p256(cls, private: ec.EllipticCurvePrivateKey | None = None) -> "Signer":
        """A signer with ``private`` (a new key when None)."""
        private = private or ec.generate_private_key(ec.SECP256R1())
        spki = private.public_key().public_bytes(serialization.Encoding.DER,
                                                 serialization.PublicFormat.SubjectPublicKeyInfo)
        return cls(ECDSA_P256, _b64(spki), "", private)

    @classmethod
    def sm2(cls, private_pem: bytes, certificate: str) -> "Signer":
        """A signer with an SM2 private key (PKCS#8 or SEC1 PEM, as ``openssl genpkey``
        writes it) and its certificate."""
        _, _, der = asn1_pem.unarmor(private_pem)
        try:
            ec_key = asn1_keys.PrivateKeyInfo.load(der)["private_key"].parsed
        except ValueError:
            ec_key = asn1_keys.ECPrivateKey.load(der)
        scalar = ec_key["private_key"].native
        point = sm2_point_of(certificate)
        if point is None:
            raise ValueError("not an SM2 certificate")
        return cls(SM2, point, certificate,
                   sm2.CryptSM2(private_key=f"{scalar:064x}", public_key=point[2:]))

    def sign(self, message: bytes) -> str:
        """The signature of ``message``, base64 of ``r ‖ s``."""
        if self.alg == SM2:
            hex_rs = self._private.sign_with_sm3(message, secrets.token_hex(32))
            return _b64(bytes.fromhex(hex_rs))
        r, s = decode_dss_signature(self._private.sign(message, ec.ECDSA(hashes.SHA256())))
        return _b64(r.to_bytes(32, "big") + s.to_bytes(32, "big"))

    def signed(self, lot_id: str, bidder_no: str, action: str, amount: int | None,
               seen: int, fields: Mapping[str, str] | None = None) -> dict[str, Any]:
        """The ``signed`` member of an action: a new nonce, ``seen`` and the signature."""
        nonce = secrets.token_urlsafe(12)
        sig = self.sign(signing.message(lot_id, bidder_no, action, amount, seen, nonce, fields))
        return {"seen": seen, "nonce": nonce, "sig": sig}


# --------------------------------------------------------------------------- receipts

RECEIPT_ALG = "ed25519"
#: Receipts signed one by one (each signature over its own :func:`receipt_message`):
#: what the server signed before 2026-12-07; still checked.
RECEIPT_V1 = "auction-receipt/1"
#: Receipts signed together: one signature over the root of a hash tree of the receipts
#: of one flush, each receipt with the path from its leaf to the root.
RECEIPT_VERSION = "auction-receipt/2"
#: The longest path a receipt may carry (a tree of 2**64 receipts).
MAX_PATH = 64
_LEAF, _NODE = b"\x00", b"\x01"


def receipt_message(lot_id: str, seq: int, digest: str, amount: str | None,
                    act: str | None, version: str = RECEIPT_VERSION) -> bytes:
    """A receipt's content: compact key-sorted JSON (UTF-8, nothing escaped that need
    not be) of the lot, the event's sequence number and chain hash, the amount (as the
    acknowledgement gives it), the action and the receipt ``version``. The keys are
    written in sorted order; orjson writes exactly what ``json.dumps(..., sort_keys=True,
    separators=(",", ":"), ensure_ascii=False)`` does for these values
    (tests/engine/test_receipts.py). A version 1 receipt signs these bytes; a version 2
    receipt hashes them into its leaf (:func:`receipt_leaf`)."""
    return orjson.dumps({"act": act, "amount": amount, "hash": digest, "lot": lot_id,
                         "seq": seq, "v": version})


def receipt_leaf(message: bytes) -> bytes:
    """The leaf of a receipt in its hash tree: SHA-256 of ``0x00 ‖ message``."""
    return hashlib.sha256(_LEAF + message).digest()


def receipt_node(left: bytes, right: bytes) -> bytes:
    """A node of the hash tree: SHA-256 of ``0x01 ‖ left ‖ right`` (the prefixes keep a
    node from passing for a leaf, as in RFC 9162)."""
    return hashlib.sha256(_NODE + left + right).digest()


def root_message(root: bytes) -> bytes:
    """The bytes a version 2 signature signs: ``{"root":"<hex>","v":"auction-receipt/2"}``."""
    return orjson.dumps({"root": root.hex(), "v": RECEIPT_VERSION})


@dataclass(frozen=True, slots=True)
class Receipt:
    """What an ``ack`` carries: ``signature`` (base64) over the root of its tree, and
    ``path`` from its leaf to the root: each step the sibling's hash (hex) after ``L``
    (the sibling is on the left) or ``R`` (on the right)."""

    signature: str
    path: list[str]


#: What a receipt covers: ``(lot_id, seq, hash, amount, act)``.
ReceiptOf = tuple[str, int, str, str | None, str | None]


class ReceiptKey:
    """The deployment's receipt key (Ed25519). Receipts are signed with libsodium (PyNaCl):
    the same signature as OpenSSL's (Ed25519 is deterministic), in about half the time
    (docs/performance.md); the key is kept and loaded as ``cryptography``'s."""

    def __init__(self, private: ed25519.Ed25519PrivateKey) -> None:
        self._private = private
        self._sign = nacl.signing.SigningKey(private.private_bytes(
            serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
            serialization.NoEncryption())).sign
        self.public = _b64(private.public_key().public_bytes(serialization.Encoding.Raw,
                                                             serialization.PublicFormat.Raw))
        #: Signatures made (one per :meth:`sign_all`).
        self.signatures = 0

    @classmethod
    def load_or_create(cls, path: Path) -> "ReceiptKey":
        """The key in ``path`` (PKCS#8 PEM), made there (mode 0600) when it is absent."""
        if path.exists():
            private = serialization.load_pem_private_key(path.read_bytes(), None)
            if not isinstance(private, ed25519.Ed25519PrivateKey):
                raise ValueError(f"{path} does not hold an Ed25519 private key")
            return cls(private)
        private = ed25519.Ed25519PrivateKey.generate()
        pem = private.private_bytes(serialization.Encoding.PEM,
                                    serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption())
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(pem)
        return cls(private)

    @classmethod
    def ephemeral(cls) -> "ReceiptKey":
        return cls(ed25519.Ed25519PrivateKey.generate())

    def published(self) -> dict[str, str]:
        """What ``/.well-known/auction-receipt-key`` shows."""
        return {"alg": RECEIPT_ALG, "key": self.public, "message": RECEIPT_VERSION}

    def sign_all(self, receipts: list[ReceiptOf]) -> list[Receipt]:
        """The receipts of ``receipts`` (at least one), with one signature: the leaves
        (:func:`receipt_leaf`) in order are paired level by level (:func:`receipt_node`),
        an odd last node going up as it is, and the root signed (:func:`root_message`).
        An Ed25519 signature costs some forty times a node's hash: the acks of one flush
        share one."""
        levels = [[receipt_leaf(receipt_message(*of)) for of in receipts]]
        while len(levels[-1]) > 1:
            level = levels[-1]
            up = [receipt_node(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
            levels.append(up + level[-1:] if len(level) % 2 else up)
        paths = []
        for index in range(len(levels[0])):
            path = []
            for level in levels[:-1]:  # the sibling at each level below the root
                sibling = index ^ 1
                if sibling < len(level):
                    path.append(("L" if sibling < index else "R") + level[sibling].hex())
                index //= 2
            paths.append(path)
        signature = _b64(self._sign(root_message(levels[-1][0])).signature)
        self.signatures += 1
        return [Receipt(signature, path) for path in paths]


def _root_of(of: ReceiptOf, path: object) -> bytes | None:
    """The root the ``path`` of the receipt of ``of`` leads to from its leaf, or None when
    the path is not a list of at most :data:`MAX_PATH` steps ``L``/``R`` and 64 hex
    digits."""
    if not isinstance(path, list) or len(path) > MAX_PATH:
        return None
    node = receipt_leaf(receipt_message(*of))
    for step in path:
        if not isinstance(step, str) or len(step) != 65 or step[0] not in "LR":
            return None
        sibling = bytes.fromhex(step[1:])
        node = receipt_node(sibling, node) if step[0] == "L" else receipt_node(node, sibling)
    return node


def check_receipt(public: str, receipt: Mapping[str, Any]) -> bool:
    """Whether ``receipt`` (an acknowledgement with ``lot_id``, ``seq``, ``hash``,
    ``amount``, ``act``, ``receipt`` and, for a version 2 receipt, ``receipt_path``) is
    signed by the key ``public`` (base64). Without ``receipt_path`` it is checked as a
    version 1 receipt (one signature over its own message)."""
    try:
        key = ed25519.Ed25519PublicKey.from_public_bytes(_unb64(public))
        of: ReceiptOf = (receipt["lot_id"], receipt["seq"], receipt["hash"],
                         receipt.get("amount"), receipt.get("act"))
        if "receipt_path" not in receipt:
            signed = receipt_message(*of, RECEIPT_V1)
        else:
            root = _root_of(of, receipt["receipt_path"])
            if root is None:
                return False
            signed = root_message(root)
        key.verify(_unb64(receipt["receipt"]), signed)
    except (InvalidSignature, KeyError, TypeError, ValueError, binascii.Error):
        return False
    return True


def check_receipts(export: Mapping[str, Any], receipts: Any) -> tuple[list[str], int]:
    """Which receipts of a bidder's receipts file are not held by ``export`` (a lot's
    export, verified already), and how many are. The file is ``{"key": public key,
    "receipts": [ack, ...]}`` as the room page saves it, each ack with ``lot_id``,
    ``seq``, ``hash``, ``amount``, ``act`` and ``receipt``. A receipt holds when the
    server's key signed it and the export's event ``seq`` has that hash: the signed
    action is in the record exactly as acknowledged. Raises :class:`ValueError` for a file
    of another shape."""
    if not isinstance(receipts, Mapping) or not isinstance(receipts.get("key"), str) \
            or not isinstance(receipts.get("receipts"), list):
        raise ValueError("a receipts file is an object with key and receipts")
    hashes = {e.get("seq"): e.get("hash") for e in export.get("events", [])
              if isinstance(e, Mapping)}
    problems: list[str] = []
    for receipt in receipts["receipts"]:
        if not isinstance(receipt, Mapping):
            problems.append(f"{receipt!r} is not a receipt")
            continue
        what = (f"lot {receipt.get('lot_id')} seq {receipt.get('seq')} "
                f"({receipt.get('act') or 'bid'} {receipt.get('amount')})")
        if not check_receipt(receipts["key"], receipt):
            problems.append(f"{what}: the server's signature does not hold")
        elif receipt["lot_id"] != export.get("lot_id"):
            problems.append(f"{what}: the receipt is for another lot than the export's "
                            f"{export.get('lot_id')}")
        elif hashes.get(receipt["seq"]) != receipt["hash"]:
            problems.append(f"{what}: the export has no such event: the acknowledged action "
                            "is missing from the record or was changed")
    return problems, len(receipts["receipts"]) - len(problems)
