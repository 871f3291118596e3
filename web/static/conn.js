// The WebSocket client of one lot (docs/protocol.md): subscribe, resume after a drop from
// the last sequence number seen (nothing missed, nothing twice), reconnect with backoff,
// clock sync against the server, bids answered by their `ack` or `rejected`, and the lot's
// snapshot kept up to date from the deltas of live `update`s.

const PING_EVERY_MS = 10_000;
// A ping unanswered (no frame at all since) for this long means the socket is dead.
// Judged from the oldest unanswered ping, not from the last frame: background tabs run
// timers late.
const PONG_TIMEOUT_MS = 8_000;
// In the last minutes of a lot (setUrgent(true)) a lost link must show within seconds.
// Every 2 s, not faster: a hall of bidders behind one address shares its message rate.
const URGENT_PING_EVERY_MS = 2_000;
const URGENT_PONG_TIMEOUT_MS = 3_000;
const HEARTBEAT_TICK_MS = 500;
// A socket not open after this long (a network that swallows the handshake) is retried.
const CONNECT_TIMEOUT_MS = 5_000;
const BID_TIMEOUT_MS = 15_000;
const BACKOFF_FIRST_MS = 500;
const BACKOFF_MAX_MS = 5_000;
const CLOCK_SAMPLES = 8;

/** A monotonic client clock in Unix ms (immune to the wall clock being set meanwhile). */
function clientNow() {
  return performance.timeOrigin + performance.now();
}

const DEVICE_KEY = "auction.device";

/** A random id of this browser, kept in localStorage: recorded with each bid so that
 * supervisors can see two bidders sharing one device. */
function deviceId() {
  try {
    let id = localStorage.getItem(DEVICE_KEY);
    if (!id) {
      const bytes = crypto.getRandomValues(new Uint8Array(12));
      id = `web:${Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("")}`;
      localStorage.setItem(DEVICE_KEY, id);
    }
    return id;
  } catch {
    return "web:unknown";
  }
}

function unkey(part) {
  return part.replace(/~1/g, "/").replace(/~0/g, "~");
}

/** `part` of a delta's path as an index of `list`, from 0 to `most`. */
function indexOf(list, part, most) {
  if (!/^[0-9]+$/.test(part) || Number(part) > most) {
    throw new Error(`${part} is not an index of a list of ${list.length}`);
  }
  return Number(part);
}

/**
 * The snapshot `state` with the delta of a live `update` applied (`changes`: path ->
 * value, `gone`: paths removed; docs/protocol.md), as a new object: `state` itself is not
 * changed. Throws when a path does not fit `state` (it is not the delta's base).
 */
export function applyDelta(state, changes, gone = []) {
  const out = { ...state };
  const copied = new Set([out]);
  const parent = (parts) => {
    let container = out;
    for (const part of parts) {
      let slot;
      if (Array.isArray(container)) {
        slot = indexOf(container, part, container.length - 1);
      } else {
        slot = unkey(part);
        if (!Object.hasOwn(container, slot)) throw new Error(`no ${parts.join("/")} in the state`);
      }
      let child = container[slot];
      if (child === null || typeof child !== "object") {
        throw new Error(`${parts.join("/")} holds no object or list`);
      }
      if (!copied.has(child)) {
        child = Array.isArray(child) ? [...child] : { ...child };
        copied.add(child);
        container[slot] = child;
      }
      container = child;
    }
    return container;
  };
  for (const [path, value] of Object.entries(changes)) {
    const parts = path.split("/");
    const last = parts.pop();
    const container = parent(parts);
    if (Array.isArray(container)) container[indexOf(container, last, container.length)] = value;
    else container[unkey(last)] = value;
  }
  for (const path of gone) {
    const parts = path.split("/");
    const last = unkey(parts.pop());
    const container = parent(parts);
    if (Array.isArray(container) || !Object.hasOwn(container, last)) {
      throw new Error(`no ${path} to remove in the state`);
    }
    delete container[last];
  }
  return out;
}

let refCounter = 0;
function newRef() {
  refCounter += 1;
  const random = Math.floor(Math.random() * 0x100000000).toString(36);
  return `b${Date.now().toString(36)}-${random}-${refCounter}`;
}

export class LotConnection {
  /**
   * @param {object} options
   * @param {string} options.lotId
   * @param {string} [options.token] bidder token of the lot or staff token
   * @param {number} [options.afterSeq=0] first subscription replays events after this
   * @param {(events: object[], state: object|null, frame: object) => void} [options.onUpdate]
   *        new events (each seen once, in order) and the lot's snapshot after them (a copy
   *        the page may keep; null when the frame brought none: stale, or being resynced)
   * @param {(state: "connecting"|"online"|"offline") => void} [options.onConnState]
   * @param {(you: object|null, frame: object) => void} [options.onYou] a bidder's own standing
   *        under `price` visibility (under `rank`/`blind` it is `state.you` instead)
   * @param {(frame: object) => void} [options.onSubscribed]
   * @param {(frame: object) => void} [options.onError] `error` frames without a pending ref
   * @param {() => void} [options.onReset] the server knows fewer events than were seen (its
   *        store was replaced): everything shown must be dropped; a full replay follows
   */
  constructor(options) {
    this.lotId = options.lotId;
    this.token = options.token || null;
    this.lastSeq = options.afterSeq ?? 0;
    this.onUpdate = options.onUpdate ?? (() => {});
    this.onConnState = options.onConnState ?? (() => {});
    this.onSubscribed = options.onSubscribed ?? (() => {});
    // Signs a bidder's action: `(action, amount, seen) => Promise<{seen, nonce, sig}|null>`
    // (signing.js); null: actions go unsigned. `onAck` sees every `ack` (its receipt).
    this.signer = options.signer ?? null;
    this.onAck = options.onAck ?? (() => {});
    this.onYou = options.onYou ?? (() => {});
    this.youSeq = -1;
    this.onError = options.onError ?? (() => {});
    this.onReset = options.onReset ?? (() => {});
    // The lot's snapshot: a catch-up's `state`, then each live `update`'s delta applied.
    this.state = null;
    this.resyncing = false;
    this.connState = null;
    this.ws = null;
    this.stopped = true;
    this.backoff = BACKOFF_FIRST_MS;
    this.retryTimer = null;
    this.pingTimer = null;
    this.lastFrameAt = 0;
    this.pingSentAt = 0; // the oldest ping not answered by any frame since
    this.lastPingAt = 0;
    this.urgent = false;
    this.pending = new Map(); // ref -> {resolve, timer}
    this.clockSamples = []; // {rtt, offset}
    this.offset = 0;
    this.synced = false;
  }

  /** Open the connection (and keep it open until stop()). */
  start() {
    if (!this.stopped) return;
    this.stopped = false;
    this._wake = () => {
      // Back online or back in view: retry now instead of waiting out the backoff.
      if (this.stopped || this.ws || document.visibilityState === "hidden") return;
      this.backoff = BACKOFF_FIRST_MS;
      clearTimeout(this.retryTimer);
      this._connect();
    };
    // The browser knows the network is gone: no need to wait for a ping to go unanswered.
    this._lost = () => {
      if (this.stopped || !this.ws) return;
      this._drop("offline");
    };
    window.addEventListener("online", this._wake);
    window.addEventListener("offline", this._lost);
    document.addEventListener("visibilitychange", this._wake);
    this._connect();
  }

  /** Ping faster and give up on a silent socket sooner (the last minutes of a lot). */
  setUrgent(urgent) {
    this.urgent = Boolean(urgent);
  }

  stop() {
    this.stopped = true;
    window.removeEventListener("online", this._wake);
    window.removeEventListener("offline", this._lost);
    document.removeEventListener("visibilitychange", this._wake);
    clearTimeout(this.retryTimer);
    clearTimeout(this.connectTimer);
    clearInterval(this.pingTimer);
    if (this.ws) {
      this.ws.onclose = null;
      this.ws.close(1000);
      this.ws = null;
    }
    this._failPending("connection_lost");
  }

  /** Subscribe again on the open socket (after changing `token`), resuming from the last
   * event seen. */
  resubscribe() {
    this._subscribe();
  }

  _subscribe() {
    const frame = { type: "subscribe", lot_id: this.lotId, after_seq: this.lastSeq };
    if (this.token) {
      frame.token = this.token;
      frame.device = deviceId();
    }
    this._send(frame);
  }

  /** The server's clock now, in Unix ms, from the measured offset. */
  serverNow() {
    return clientNow() + this.offset;
  }

  /**
   * Send a bid of `amount` (a decimal string). Resolves (never rejects) with the server's
   * `ack` or `rejected` frame for it, an `error` frame echoing its ref, or a local
   * {type: "error", code: "offline" | "connection_lost" | "timeout"}.
   */
  bid(amount, ref = newRef(), confirmed = false, units = 1) {
    const msg = { type: "bid", lot_id: this.lotId, amount, ref };
    // Sent only when true: the bidder confirmed a bid past the lot's confirm_above_steps.
    if (confirmed) msg.confirmed = true;
    // A multi-unit lot's bid for several units: sent (and signed) only when not 1.
    if (units !== 1) msg.units = units;
    return this._signed(msg, "bid", amount, units !== 1 ? { units: String(units) } : undefined);
  }

  /**
   * Send a bidder action `act` (confirm, accept, stay, drop, proxy, commit, reveal... as
   * the lot's format takes), with `amount` when it carries one and the `extra` fields
   * (`commitment`, `salt`). Resolves like `bid`.
   */
  act(act, amount = undefined, ref = newRef(), extra = {}) {
    const msg = { type: "act", lot_id: this.lotId, act, ref, ...extra };
    if (amount !== undefined && amount !== null) msg.amount = amount;
    return this._signed(msg, act, msg.amount ?? null);
  }

  /** Enrol the public `key` of algorithm `alg` (signing.js). Resolves like `bid`. */
  enrol(alg, key, ref = newRef()) {
    return this._request({ type: "enrol", lot_id: this.lotId, alg, key, ref }, ref);
  }

  /** `msg` signed by the signer (when there is one) over the last event seen, then sent. */
  async _signed(msg, action, amount, fields = {}) {
    if (this.signer) {
      try {
        // the further fields an action carries are signed too (auction/signing.py ACT_FIELDS)
        fields = { ...fields };
        for (const name of ["commitment", "salt"]) if (msg[name]) fields[name] = msg[name];
        const sig = await this.signer(action, amount, this.lastSeq, fields);
        if (sig) msg.sig = sig;
      } catch (err) {
        console.warn("signing failed", err);
        return { type: "error", code: "sign_failed", ref: msg.ref };
      }
    }
    return this._request(msg, msg.ref);
  }

  _request(msg, ref) {
    return new Promise((resolve) => {
      if (!this.ws || this.ws.readyState !== WebSocket.OPEN || this.connState !== "online") {
        resolve({ type: "error", code: "offline", ref });
        return;
      }
      const timer = setTimeout(() => this._settle(ref, { type: "error", code: "timeout", ref }),
        BID_TIMEOUT_MS);
      this.pending.set(ref, { resolve, timer });
      this._send(msg);
    });
  }

  _setConnState(state) {
    if (state === this.connState) return;
    this.connState = state;
    this.onConnState(state);
  }

  _url() {
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    return `${scheme}//${location.host}/ws`;
  }

  _connect() {
    this._setConnState("connecting");
    let ws;
    try {
      ws = new WebSocket(this._url());
    } catch {
      this._scheduleReconnect();
      return;
    }
    this.ws = ws;
    clearTimeout(this.connectTimer);
    this.connectTimer = setTimeout(() => {
      if (this.ws !== ws || ws.readyState !== WebSocket.CONNECTING) return;
      ws.onclose = null;
      ws.close();
      this.ws = null;
      this._scheduleReconnect();
    }, CONNECT_TIMEOUT_MS);
    ws.onopen = () => {
      clearTimeout(this.connectTimer);
      this.lastFrameAt = clientNow();
      this._subscribe();
      this._ping();
      clearInterval(this.pingTimer);
      this.pingTimer = setInterval(() => this._heartbeat(), HEARTBEAT_TICK_MS);
    };
    ws.onmessage = (msg) => {
      this.lastFrameAt = clientNow();
      let frame;
      try {
        frame = JSON.parse(msg.data);
      } catch {
        return;
      }
      if (frame && typeof frame === "object") this._dispatch(frame);
    };
    ws.onclose = () => {
      if (this.ws !== ws) return;
      this.ws = null;
      clearInterval(this.pingTimer);
      // A bid in flight may or may not have been sequenced: the resumed events will tell.
      this._failPending("connection_lost");
      this._scheduleReconnect();
    };
    ws.onerror = () => {}; // onclose follows and handles it
  }

  _scheduleReconnect() {
    if (this.stopped) return;
    this._setConnState("offline");
    const delay = this.backoff * (0.75 + Math.random() * 0.5);
    this.backoff = Math.min(this.backoff * 2, BACKOFF_MAX_MS);
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => this._connect(), delay);
  }

  _heartbeat() {
    const now = clientNow();
    const unanswered = this.pingSentAt > this.lastFrameAt;
    const timeout = this.urgent ? URGENT_PONG_TIMEOUT_MS : PONG_TIMEOUT_MS;
    if (unanswered && now - this.pingSentAt > timeout && this.ws) {
      this._drop("no pong");
      return;
    }
    if (now - this.lastPingAt >= (this.urgent ? URGENT_PING_EVERY_MS : PING_EVERY_MS)) this._ping();
  }

  /** Give up on the socket now (dead or the network gone) and reconnect when possible. */
  _drop(why) {
    const ws = this.ws;
    ws.onclose = null;
    try {
      ws.close(4000, why);
    } catch {
      // already closing
    }
    this.ws = null;
    clearInterval(this.pingTimer);
    this._failPending("connection_lost");
    this._scheduleReconnect();
  }

  _ping() {
    const now = clientNow();
    this.lastPingAt = now;
    if (!(this.pingSentAt > this.lastFrameAt)) this.pingSentAt = now;
    this._send({ type: "ping", client_time: Math.round(now) });
  }

  _send(frame) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(frame));
  }

  _dispatch(frame) {
    switch (frame.type) {
      case "welcome":
        if (!this.synced && Number.isFinite(frame.server_time)) {
          this.offset = frame.server_time - clientNow(); // rough until the first pong
        }
        break;
      case "subscribed":
        if (frame.lot_id && frame.lot_id !== this.lotId) break;
        this.backoff = BACKOFF_FIRST_MS;
        this._setConnState("online");
        this.onSubscribed(frame);
        break;
      case "update":
        if (!frame.lot_id || frame.lot_id === this.lotId) this._update(frame);
        break;
      case "you":
        if (frame.lot_id && frame.lot_id !== this.lotId) break;
        if (Number.isInteger(frame.seq) && frame.seq < this.youSeq) break;
        if (Number.isInteger(frame.seq)) this.youSeq = frame.seq;
        this.onYou(frame.you ?? null, frame);
        break;
      case "ack":
        this.onAck(frame);
        this._settle(frame.ref, frame);
        break;
      case "rejected":
        this._settle(frame.ref, frame);
        break;
      case "error":
        if (frame.ref && this.pending.has(frame.ref)) this._settle(frame.ref, frame);
        else if (frame.code === "bad_seq" && this.lastSeq > 0) this._replayAll();
        else this.onError(frame);
        break;
      case "pong":
        this._pong(frame);
        break;
      default:
        break;
    }
  }

  _update(frame) {
    const fresh = [];
    for (const event of Array.isArray(frame.events) ? frame.events : []) {
      if (!Number.isInteger(event.seq) || event.seq <= this.lastSeq) continue; // seen already
      if (event.seq !== this.lastSeq + 1) {
        console.warn(`lot ${this.lotId}: events ${this.lastSeq + 1}..${event.seq - 1} missing`);
      }
      this.lastSeq = event.seq;
      fresh.push(event);
    }
    let changed = false;
    const held = this.state && Number.isInteger(this.state.seq) ? this.state.seq : -1;
    if (frame.state && typeof frame.state === "object") {
      // A whole snapshot (a catch-up), unless older than what is shown.
      if (!Number.isInteger(frame.state.seq) || frame.state.seq >= held) {
        this.state = frame.state;
        this.resyncing = false;
        changed = true;
      }
    } else if (frame.delta && typeof frame.delta === "object" && !this.resyncing) {
      const events = Array.isArray(frame.events) ? frame.events : [];
      const base = events.length && Number.isInteger(events[0].seq) ? events[0].seq - 1 : null;
      if (base !== null && base === held) {
        try {
          this.state = applyDelta(this.state, frame.delta, Array.isArray(frame.gone) ? frame.gone : []);
          changed = true;
        } catch (exc) {
          console.warn(`lot ${this.lotId}: ${exc.message}; asking for the whole snapshot`);
          this._resync();
        }
      } else if (base === null || base > held) {
        this._resync(); // the snapshot this delta was made from never arrived
      } // else older than what is shown: its events (if new) are enough
    }
    if (!this.synced && Number.isFinite(frame.server_time)) {
      this.offset = frame.server_time - clientNow();
    }
    const state = changed ? structuredClone(this.state) : null;
    if (fresh.length || state) this.onUpdate(fresh, state, frame);
  }

  /** Subscribe again from the last event seen: the catch-up brings a whole snapshot. */
  _resync() {
    this.state = null;
    this.resyncing = true; // until the whole snapshot arrives, deltas cannot be applied
    this._subscribe();
  }

  _replayAll() {
    this.lastSeq = 0;
    this.state = null;
    this.youSeq = -1;
    this.onReset();
    this._subscribe();
  }

  _pong(frame) {
    const sent = frame.client_time;
    const serverTime = frame.server_time;
    if (!Number.isFinite(sent) || !Number.isFinite(serverTime)) return;
    const now = clientNow();
    const rtt = now - sent;
    if (rtt < 0 || rtt > 60_000) return;
    this.clockSamples.push({ rtt, offset: serverTime - (sent + now) / 2 });
    if (this.clockSamples.length > CLOCK_SAMPLES) this.clockSamples.shift();
    // The sample with the shortest round trip has the smallest error bound.
    let best = this.clockSamples[0];
    for (const s of this.clockSamples) if (s.rtt < best.rtt) best = s;
    this.offset = best.offset;
    this.rtt = best.rtt;
    this.synced = true;
  }

  _settle(ref, frame) {
    const entry = this.pending.get(ref);
    if (!entry) return;
    this.pending.delete(ref);
    clearTimeout(entry.timer);
    entry.resolve(frame);
  }

  _failPending(code) {
    for (const ref of [...this.pending.keys()]) this._settle(ref, { type: "error", code, ref });
  }
}
