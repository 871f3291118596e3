// The bidder's signing key and receipts in the browser (docs/design.md, Signed actions).
//
// The key is an ECDSA P-256 key made by WebCrypto as NON-EXTRACTABLE: the page can sign
// with it but nobody (not the page, not a script injected later, not the server) can
// read the private key out of the browser. It is kept in IndexedDB (which stores the
// key object itself, not its bytes), one per lot and bidder number, so that a reload
// signs with the same key. The message signed is the canonical JSON of
// auction/signing.py's `message`: keys sorted, no spaces.
//
// Receipts (the server's signed acknowledgements) are kept in localStorage and offered
// as a file for `auction verify --receipts FILE export.json`.

const DB = "auction-keys";
const STORE = "keys";
const VERSION = "auction-action/1";

/** Whether this browser can sign (WebCrypto needs a secure context: https or localhost). */
export function canSign() {
  return Boolean(globalThis.crypto?.subtle && globalThis.indexedDB);
}

function openDb() {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(DB, 1);
    req.onupgradeneeded = () => req.result.createObjectStore(STORE);
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

function idb(db, mode, action) {
  return new Promise((resolve, reject) => {
    const tx = db.transaction(STORE, mode);
    const req = action(tx.objectStore(STORE));
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

function b64(bytes) {
  let text = "";
  for (const b of new Uint8Array(bytes)) text += String.fromCharCode(b);
  return btoa(text);
}

function nonce() {
  const bytes = crypto.getRandomValues(new Uint8Array(12));
  return b64(bytes).replaceAll("+", "-").replaceAll("/", "_").replaceAll("=", "");
}

async function sha256Hex(text) {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** JSON with the keys of every object sorted and no spaces (Python's sort_keys). */
function canonical(value) {
  if (value === null || typeof value !== "object") return JSON.stringify(value);
  const keys = Object.keys(value).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonical(value[k])}`).join(",")}}`;
}

/** The bytes signed for one action (auction/signing.py `message`), with its further
 * signed `fields` (a commitment, a salt, a multi-unit bid's `units`). */
export function message(lotId, bidderNo, action, amountMinor, seen, theNonce, fields = {}) {
  return new TextEncoder().encode(canonical({
    ...fields, v: VERSION, lot: lotId, bidder_no: bidderNo, action,
    amount: amountMinor === null || amountMinor === undefined ? null : String(amountMinor),
    seen, nonce: theNonce,
  }));
}

export class BidderKey {
  /** The key of (`lotId`, `bidderNo`) on this device, made and stored on first use. */
  static async load(lotId, bidderNo) {
    const db = await openDb();
    const name = `${location.host}|${lotId}|${bidderNo}`;
    let pair = await idb(db, "readonly", (s) => s.get(name));
    if (!pair) {
      pair = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, false,
        ["sign", "verify"]);
      await idb(db, "readwrite", (s) => s.put(pair, name));
    }
    db.close();
    const spki = b64(await crypto.subtle.exportKey("spki", pair.publicKey));
    return new BidderKey(lotId, bidderNo, pair, spki, (await sha256Hex(spki)).slice(0, 16));
  }

  constructor(lotId, bidderNo, pair, spki, id) {
    this.lotId = lotId;
    this.bidderNo = bidderNo;
    this.pair = pair;
    this.alg = "ecdsa-p256";
    /** The public key to enrol (base64 SubjectPublicKeyInfo) and its id as views show it. */
    this.key = spki;
    this.id = id;
  }

  /** Whether the server's view of the bidder (`you.key`) names this key. */
  enrolled(youKey) {
    return Boolean(youKey && youKey.alg === this.alg && youKey.id === this.id);
  }

  /** The `sig` member of an action: `{seen, nonce, sig}`. */
  async sign(action, amountMinor, seen, fields = {}) {
    const theNonce = nonce();
    const bytes = message(this.lotId, this.bidderNo, action, amountMinor, seen, theNonce, fields);
    const sig = await crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, this.pair.privateKey,
      bytes);
    return { seen, nonce: theNonce, sig: b64(sig) };
  }
}

// ------------------------------------------------------------------------------ receipts

function receiptsName(lotId, bidderNo) {
  return `auction-receipts|${lotId}|${bidderNo}`;
}

/** The receipts kept for (`lotId`, `bidderNo`), oldest first. */
export function receipts(lotId, bidderNo) {
  try {
    return JSON.parse(localStorage.getItem(receiptsName(lotId, bidderNo)) || "[]");
  } catch {
    return [];
  }
}

/** Keep the receipt an `ack` carries (once per sequence number). */
export function keepReceipt(lotId, bidderNo, ack) {
  if (!ack || !ack.receipt) return;
  const kept = receipts(lotId, bidderNo);
  if (kept.some((r) => r.seq === ack.seq && r.hash === ack.hash)) return;
  const { lot_id, seq, at, hash, amount = null, act = null, receipt, receipt_path } = ack;
  // receipt_path: the receipt's way to the signed root (absent from a receipt signed alone
  // before receipts were signed together; `auction verify` checks both)
  kept.push(receipt_path === undefined
    ? { lot_id, seq, at, hash, amount, act, receipt }
    : { lot_id, seq, at, hash, amount, act, receipt, receipt_path });
  localStorage.setItem(receiptsName(lotId, bidderNo), JSON.stringify(kept));
}

/** The receipts file: `{key, receipts}` with the server's published receipt key. */
export async function receiptsFile(lotId, bidderNo) {
  const published = await (await fetch("/.well-known/auction-receipt-key")).json();
  return JSON.stringify({ key: published.key, alg: published.alg,
    receipts: receipts(lotId, bidderNo) }, null, 1);
}
