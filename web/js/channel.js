// The room channel: one websocket that resumes with since/epoch after any drop.
import { observe } from "./clock.js";

/**
 * Orders durable events: drops ones already seen, reports a gap. Pure, no I/O.
 * take(events) -> {events: [...to apply], gap: bool}
 */
export class Sequencer {
  constructor() {
    this.seq = null;
    this.epoch = null;
  }

  /** Query parameters that resume after the last applied event. */
  resume() {
    return this.seq === null ? {} : { since: this.seq, epoch: this.epoch };
  }

  take(events) {
    const out = [];
    for (const ev of events) {
      if (ev.type === "snapshot") {
        // Recovered: missed events follow from our own seq; otherwise start from the snapshot.
        const recovered = ev.recovered && ev.epoch === this.epoch && this.seq !== null;
        if (!recovered) this.seq = ev.seq;
        this.epoch = ev.epoch;
        out.push({ ...ev, recovered });
      } else if (typeof ev.seq === "number" && this.seq !== null) {
        if (ev.seq <= this.seq) continue; // already applied
        if (ev.seq !== this.seq + 1) return { events: out, gap: true };
        this.seq = ev.seq;
        out.push(ev);
      } else {
        out.push(ev);
      }
    }
    return { events: out, gap: false };
  }
}

/** Delay before reconnect attempt `n` (0-based): exponential, capped, full jitter. */
export function backoff(n, random = Math.random) {
  const cap = Math.min(15000, 500 * 2 ** n);
  return Math.round(cap / 2 + (random() * cap) / 2);
}

// Close codes after which reconnecting cannot help.
const FINAL = { 4003: "forbidden", 4004: "unknown_room", 4009: "room_ended" };
const PING_EVERY_MS = 20000;
const PONG_WITHIN_MS = 10000;

/**
 * new RoomChannel(roomId, {token, onEvent, onState}).start()
 * onState({state: "connecting"|"online"|"offline"|"closed", retryMs?, reason?})
 */
export class RoomChannel {
  constructor(roomId, { token = null, onEvent, onState = () => {} }) {
    this.roomId = roomId;
    this.token = token;
    this.onEvent = onEvent;
    this.onState = onState;
    this.seqr = new Sequencer();
    this.ws = null;
    this.attempt = 0;
    this.timer = null;
    this.stopped = false;
    window.addEventListener("online", () => this.reconnectNow());
  }

  start() {
    this.stopped = false;
    this._open();
    return this;
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    this._teardown();
  }

  /** Send one message; false when the channel is not connected. */
  send(message) {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN) return false;
    this.ws.send(JSON.stringify(message));
    return true;
  }

  /** Use another token (a viewer who just chose a name) and resume with it. */
  setToken(token) {
    this.token = token;
    this.reconnectNow();
  }

  reconnectNow() {
    if (this.stopped) return;
    clearTimeout(this.timer);
    this._teardown();
    this._open();
  }

  _url() {
    const proto = location.protocol === "https:" ? "wss:" : "ws:";
    const params = new URLSearchParams();
    if (this.token) params.set("token", this.token);
    const resume = this.seqr.resume();
    if (resume.since !== undefined) {
      params.set("since", String(resume.since));
      params.set("epoch", String(resume.epoch));
    }
    const query = params.toString();
    return `${proto}//${location.host}/ws/rooms/${encodeURIComponent(this.roomId)}${query ? "?" + query : ""}`;
  }

  _open() {
    this.onState({ state: "connecting" });
    let ws;
    try {
      ws = new WebSocket(this._url());
    } catch {
      this._retry(null);
      return;
    }
    this.ws = ws;
    ws.onmessage = (msg) => this._frame(ws, msg.data);
    ws.onclose = (ev) => {
      if (this.ws !== ws) return;
      this._teardown();
      this._retry(ev.code);
    };
  }

  _frame(ws, data) {
    if (this.ws !== ws) return;
    let batch;
    try {
      batch = JSON.parse(data);
    } catch {
      return;
    }
    const events = Array.isArray(batch) ? batch : [batch];
    this._alive();
    const { events: fresh, gap } = this.seqr.take(events);
    for (const ev of fresh) {
      observe(ev.ts);
      if (ev.type === "snapshot") {
        this.attempt = 0;
        this.onState({ state: "online" });
      }
      if (ev.type !== "pong") this.onEvent(ev);
    }
    if (gap) this.reconnectNow(); // resumes with `since`, so the missing events arrive
  }

  // Ping on a quiet line; a missing answer means the connection is dead.
  _alive() {
    clearTimeout(this.pingTimer);
    clearTimeout(this.deadTimer);
    this.pingTimer = setTimeout(() => {
      if (!this.send({ type: "ping" })) return;
      this.deadTimer = setTimeout(() => this.reconnectNow(), PONG_WITHIN_MS);
    }, PING_EVERY_MS);
  }

  _teardown() {
    clearTimeout(this.pingTimer);
    clearTimeout(this.deadTimer);
    const ws = this.ws;
    this.ws = null;
    if (ws) {
      ws.onmessage = ws.onclose = null;
      if (ws.readyState <= WebSocket.OPEN) ws.close(1000);
    }
  }

  _retry(code) {
    if (this.stopped) return;
    if (FINAL[code]) {
      this.stopped = true;
      this.onState({ state: "closed", reason: FINAL[code] });
      return;
    }
    if (code === 4001 && this.token) {
      // The token was refused: say so, and keep watching without it.
      this.onState({ state: "unauthorized" });
      this.token = null;
    }
    // 4008 (fell behind): straight back with `since`; anything else: jittered back-off.
    const delay = code === 4008 ? Math.round(Math.random() * 250) : backoff(this.attempt++);
    this.onState({ state: "offline", retryMs: delay });
    this.timer = setTimeout(() => this._open(), delay);
  }
}
