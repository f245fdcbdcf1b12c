// Shows a pinned product's card with the video frame it belongs to, not when its event
// happens to arrive: the event's `media_ms` is compared with the position of the frame on
// screen (requestVideoFrameCallback's rtpTimestamp, minus this viewer's offset from the
// WHEP answer, at 90 kHz: docs/protocol.md "The viewer's media clock"). An event is held
// until its frame is shown, and at most HOLD_MS when the picture is stalled or missing.

export const HOLD_MS = 1000;
const WRAP = 2 ** 32;

/** The position (ms on the media clock) of a frame with this RTP timestamp. */
export function framePosition(rtpTimestamp, offset) {
  return (((rtpTimestamp - offset) % WRAP) + WRAP) % WRAP / 90;
}

export class CardSync {
  constructor(video) {
    this.video = video;
    this.offset = null;
    this.shown = null; // the position of the frame on screen now
    this.held = []; // [{at, apply, timer}], in the order the events came
    this.watching = false;
    // How long the last held event waited for its frame (ms), for the console and tests.
    this.lastWaitMs = 0;
    this.supported = typeof video.requestVideoFrameCallback === "function";
  }

  /** A new WHEP session's offset (null: none known). */
  setOffset(offset) {
    this.offset = offset;
    this.shown = null;
    if (offset !== null && this.supported && !this.watching) this.watch();
  }

  watch() {
    this.watching = true;
    const onFrame = (_now, meta) => {
      if (typeof meta.rtpTimestamp === "number" && this.offset !== null) {
        this.shown = framePosition(meta.rtpTimestamp, this.offset);
        this.release();
      }
      this.video.requestVideoFrameCallback(onFrame);
    };
    this.video.requestVideoFrameCallback(onFrame);
  }

  /** Run `apply` once the frame of `event.media_ms` is on screen (or at once, or later). */
  hold(event, apply) {
    const waitable = typeof event.media_ms === "number" && this.offset !== null && this.supported;
    if (!waitable || (!this.held.length && this.shown !== null && this.shown >= event.media_ms)) {
      this.flush();
      apply();
      return;
    }
    const entry = { at: event.media_ms, apply, timer: null, since: performance.now() };
    // Shown anyway after HOLD_MS: a stalled picture never keeps the card away.
    entry.timer = setTimeout(() => this.release(entry), HOLD_MS);
    this.held.push(entry);
    this.release();
  }

  /** Apply, in order, every held event whose frame is on screen (and `until` itself). */
  release(until = null) {
    while (this.held.length) {
      const next = this.held[0];
      const due = until !== null || (this.shown !== null && this.shown >= next.at);
      if (!due) return;
      this.held.shift();
      clearTimeout(next.timer);
      this.lastWaitMs = performance.now() - next.since;
      next.apply();
      if (next === until) return;
    }
  }

  /** Apply everything held now (a snapshot replaces the card; the session ended). */
  flush() {
    while (this.held.length) {
      const next = this.held.shift();
      clearTimeout(next.timer);
      next.apply();
    }
  }
}
