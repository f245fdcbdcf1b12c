// The studio's camera: preview, device choice, go live and stop over WHIP.
import { describe, mediaConfig } from "./api.js";
import { byId, say } from "./dom.js";
import { t } from "./i18n.js";
import { publish } from "./whip.js";

/** Words for a refused camera, with what the host can do about it. */
export function cameraTrouble(err) {
  if (!window.isSecureContext || !navigator.mediaDevices) return t("camera.insecure");
  switch (err && err.name) {
    case "NotAllowedError":
    case "SecurityError":
      return t("camera.refused");
    case "NotFoundError":
    case "OverconstrainedError":
      return t("camera.none");
    case "NotReadableError":
    case "AbortError":
      return t("camera.busy");
    default:
      return t("camera.failed", { reason: (err && err.message) || "?" });
  }
}

/** The capture size to ask for: portrait 720×1280 when the screen stands upright (a phone
 * held for a live show), else 1280×720; the camera gives the nearest it has. */
export function captureSize(portrait) {
  return portrait ? { width: { ideal: 720 }, height: { ideal: 1280 } } : { width: { ideal: 1280 }, height: { ideal: 720 } };
}

const PORTRAIT = window.matchMedia("(orientation: portrait)");

export class Camera {
  constructor(roomId, token) {
    this.roomId = roomId;
    this.token = token;
    this.stream = null;
    this.session = null;
    this.live = false;
    this.facing = "user"; // the front camera first: a host usually faces the phone
    this.wasHidden = false;
    byId("go-live").addEventListener("click", () => this.goLive());
    byId("flip-camera").addEventListener("click", () => this.flip());
    document.addEventListener("visibilitychange", () => this.visibility());
    byId("stop-live").addEventListener("click", () => this.stop());
    byId("retry-camera").addEventListener("click", () => this.start());
    byId("camera-select").addEventListener("change", () => this.start());
    byId("mic-select").addEventListener("change", () => this.start());
    window.addEventListener("pagehide", () => this.session?.stop());
  }

  /** Open (or reopen) the chosen devices and show the preview. */
  async start() {
    const help = byId("camera-help");
    if (!window.isSecureContext || !navigator.mediaDevices?.getUserMedia) {
      say(help, cameraTrouble(null));
      say(byId("camera-note"), t("camera.insecure_short"));
      return;
    }
    const cam = byId("camera-select").value;
    const mic = byId("mic-select").value;
    let stream;
    try {
      const size = captureSize(PORTRAIT.matches);
      stream = await navigator.mediaDevices.getUserMedia({
        video: cam ? { deviceId: { exact: cam }, ...size } : { facingMode: { ideal: this.facing }, ...size },
        audio: mic ? { deviceId: { exact: mic } } : true,
      });
    } catch (err) {
      say(help, cameraTrouble(err));
      say(byId("camera-note"), t("camera.off"));
      byId("retry-camera").hidden = false;
      byId("go-live").disabled = true;
      return;
    }
    say(help, "");
    byId("retry-camera").hidden = true;
    const old = this.stream;
    this.stream = stream;
    byId("preview").srcObject = stream;
    say(byId("camera-note"), "");
    if (this.session) {
      for (const track of stream.getTracks()) await this.session.replaceTrack(track);
    }
    old?.getTracks().forEach((t) => t.stop());
    await this.listDevices();
    byId("go-live").disabled = this.live;
    const settings = stream.getVideoTracks()[0]?.getSettings() || {};
    const preview = byId("preview");
    preview.dataset.facing = settings.facingMode || this.facing;
    preview.classList.toggle("is-mirrored", (settings.facingMode || this.facing) === "user");
  }

  /** Front to back camera and back: the next camera when there are several, else the
   * other facing mode (phones name theirs "front" and "back" only through it). */
  async flip() {
    this.facing = this.facing === "user" ? "environment" : "user";
    const select = byId("camera-select");
    const cameras = [...select.options].map((o) => o.value);
    if (cameras.length > 1) select.value = cameras[(cameras.indexOf(select.value) + 1) % cameras.length];
    else select.value = "";
    await this.start();
    say(byId("live-status"), this.facing === "user" ? t("camera.now_front") : t("camera.now_back"));
  }

  /** A phone stops the camera while the page is in the background: say so while it is,
   * and bring the camera back when the page returns. */
  async visibility() {
    const warning = byId("background-warning");
    if (document.visibilityState === "hidden") {
      this.wasHidden = true;
      say(warning, this.live ? t("camera.background_live") : t("camera.background"));
      return;
    }
    if (!this.wasHidden) return;
    this.wasHidden = false;
    const stopped = !this.stream || this.stream.getTracks().some((track) => track.readyState === "ended");
    say(warning, this.live ? t("camera.back_live") : "");
    if (stopped) await this.start();
  }

  async listDevices() {
    const devices = await navigator.mediaDevices.enumerateDevices();
    const current = (kind) => this.stream.getTracks().find((t) => t.kind === kind)?.getSettings().deviceId;
    fill(byId("camera-select"), devices.filter((d) => d.kind === "videoinput"), current("video"), "camera.numbered");
    fill(byId("mic-select"), devices.filter((d) => d.kind === "audioinput"), current("audio"), "camera.mic_numbered");
  }

  async goLive() {
    if (!this.stream) return;
    const status = byId("live-status");
    byId("go-live").disabled = true;
    status.textContent = t("camera.going_live");
    try {
      const { iceServers, codec } = await mediaConfig();
      this.session = await publish(this.roomId, this.stream, {
        token: this.token,
        iceServers,
        codec,
        onState: (state) => this.onState(state),
      });
      this.setLive(true);
      status.textContent = t("camera.connecting");
    } catch (err) {
      this.session = null;
      byId("go-live").disabled = false;
      status.textContent = t("camera.could_not", { error: describe(err) });
    }
  }

  onState(state) {
    const status = byId("live-status");
    status.dataset.tone = state === "connected" ? "good" : "";
    if (state === "connected") status.textContent = t("camera.live_now");
    if (state === "disconnected") status.textContent = t("camera.unsteady");
    if (state === "failed") {
      status.textContent = t("camera.lost");
      this.session?.stop();
      this.session = null;
      this.setLive(false);
    }
  }

  stop() {
    byId("live-status").dataset.tone = "";
    this.session?.stop();
    this.session = null;
    this.setLive(false);
    byId("live-status").textContent = t("camera.stopped");
  }

  setLive(live) {
    this.live = live;
    byId("go-live").hidden = live;
    byId("go-live").disabled = live || !this.stream;
    byId("stop-live").hidden = !live;
    const badge = byId("live-badge");
    badge.dataset.live = String(live);
    badge.textContent = live ? t("rooms.live") : t("studio.not_live");
  }
}

function fill(select, devices, currentId, unnamedKey) {
  const chosen = currentId || select.value;
  select.replaceChildren(
    ...devices.map((d, i) => {
      const option = new Option(d.label || t(unnamedKey, { number: i + 1 }), d.deviceId);
      if (d.label) option.translate = false;
      option.selected = d.deviceId === chosen;
      return option;
    }),
  );
}
