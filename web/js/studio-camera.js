// The studio's camera: preview, device choice, go live and stop over WHIP.
import { describe, mediaConfig } from "./api.js";
import { byId, say } from "./dom.js";
import { publish } from "./whip.js";

/** Words for a refused camera, with what the host can do about it. */
export function cameraTrouble(err) {
  if (!window.isSecureContext || !navigator.mediaDevices) {
    return (
      "This page is not secure, so the browser will not offer the camera. Browsers give the " +
      "camera only to https:// pages, or to http://localhost and http://127.0.0.1 on the " +
      "computer running the server. Open the studio over HTTPS (see \"Serving over HTTPS\" " +
      "in the README), or on this computer at localhost."
    );
  }
  switch (err && err.name) {
    case "NotAllowedError":
    case "SecurityError":
      return (
        "The camera was refused. Allow the camera and microphone for this site (the camera " +
        "icon in the address bar, or the browser's site settings), then press \"Try the camera again\"."
      );
    case "NotFoundError":
    case "OverconstrainedError":
      return "No camera or microphone was found. Plug one in, then press \"Try the camera again\".";
    case "NotReadableError":
    case "AbortError":
      return "The camera is busy in another app (a video call?). Close it, then try again.";
    default:
      return `The camera could not start: ${(err && err.message) || "unknown reason"}.`;
  }
}

export class Camera {
  constructor(roomId, token) {
    this.roomId = roomId;
    this.token = token;
    this.stream = null;
    this.session = null;
    this.live = false;
    byId("go-live").addEventListener("click", () => this.goLive());
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
      say(byId("camera-note"), "No camera on an insecure page.");
      return;
    }
    const cam = byId("camera-select").value;
    const mic = byId("mic-select").value;
    let stream;
    try {
      stream = await navigator.mediaDevices.getUserMedia({
        video: cam ? { deviceId: { exact: cam } } : { width: { ideal: 1280 }, height: { ideal: 720 } },
        audio: mic ? { deviceId: { exact: mic } } : true,
      });
    } catch (err) {
      say(help, cameraTrouble(err));
      say(byId("camera-note"), "Camera off");
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
  }

  async listDevices() {
    const devices = await navigator.mediaDevices.enumerateDevices();
    const current = (kind) => this.stream.getTracks().find((t) => t.kind === kind)?.getSettings().deviceId;
    fill(byId("camera-select"), devices.filter((d) => d.kind === "videoinput"), current("video"), "Camera");
    fill(byId("mic-select"), devices.filter((d) => d.kind === "audioinput"), current("audio"), "Microphone");
  }

  async goLive() {
    if (!this.stream) return;
    const status = byId("live-status");
    byId("go-live").disabled = true;
    status.textContent = "Going live…";
    try {
      const { iceServers, codec } = await mediaConfig();
      this.session = await publish(this.roomId, this.stream, {
        token: this.token,
        iceServers,
        codec,
        onState: (state) => this.onState(state),
      });
      this.setLive(true);
      status.textContent = "Connecting the video…";
    } catch (err) {
      this.session = null;
      byId("go-live").disabled = false;
      status.textContent = `Could not go live. ${describe(err)}`;
    }
  }

  onState(state) {
    const status = byId("live-status");
    status.dataset.tone = state === "connected" ? "good" : "";
    if (state === "connected") status.textContent = "You are live. Viewers can see and hear you.";
    if (state === "disconnected") status.textContent = "The video connection is unsteady…";
    if (state === "failed") {
      status.textContent = "The video connection was lost. Press Go live to reconnect.";
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
    byId("live-status").textContent = "You stopped the video. Viewers see that you are not live.";
  }

  setLive(live) {
    this.live = live;
    byId("go-live").hidden = live;
    byId("go-live").disabled = live || !this.stream;
    byId("stop-live").hidden = !live;
    const badge = byId("live-badge");
    badge.dataset.live = String(live);
    badge.textContent = live ? "Live" : "Not live";
  }
}

function fill(select, devices, currentId, noun) {
  const chosen = currentId || select.value;
  select.replaceChildren(
    ...devices.map((d, i) => {
      const option = new Option(d.label || `${noun} ${i + 1}`, d.deviceId);
      option.selected = d.deviceId === chosen;
      return option;
    }),
  );
}
