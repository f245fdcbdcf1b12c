// The rooms list: live rooms first, with viewer counts, refreshed every few seconds.
import { api, describe } from "./api.js";
import { byId, h, say } from "./dom.js";
import { watching } from "./format.js";
import { t, tNodes } from "./i18n.js";

const REFRESH_MS = 5000;

function roomItem(room) {
  const href = `/r/${encodeURIComponent(room.room_id)}`;
  return h(
    "li",
    { class: `room-item${room.live ? " is-live" : ""}`, dataset: { roomId: room.room_id } },
    h("a", { href, class: "room-link" },
      h("span", { class: "room-name", translate: "no" }, room.title),
      h("span", { class: "meta" },
        room.live ? h("span", { class: "badge", dataset: { live: "true" } }, t("rooms.live")) : h("span", { class: "badge" }, t("rooms.not_live")),
        room.host_name ? h("span", { class: "host" }, ...tNodes("viewer.with_host", { host: h("span", { translate: "no" }, room.host_name) })) : null,
        h("span", { class: "viewers" }, watching(room.viewers)))),
  );
}

async function refresh() {
  const list = byId("rooms");
  try {
    const { rooms } = await api("/api/rooms?limit=50");
    const open = rooms.filter((r) => r.status !== "ended");
    list.replaceChildren(...open.map(roomItem));
    byId("empty").hidden = open.length > 0;
    say(byId("rooms-error"), "");
  } catch (err) {
    say(byId("rooms-error"), t("rooms.load_failed", { error: describe(err) }));
  } finally {
    list.setAttribute("aria-busy", "false");
  }
}

refresh();
setInterval(refresh, REFRESH_MS);
