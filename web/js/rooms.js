// The rooms list: live rooms first, with viewer counts, refreshed every few seconds.
import { api, describe } from "./api.js";
import { byId, h, say } from "./dom.js";
import { watching } from "./format.js";

const REFRESH_MS = 5000;

function roomItem(room) {
  const href = `/r/${encodeURIComponent(room.room_id)}`;
  return h(
    "li",
    { class: `room-item${room.live ? " is-live" : ""}`, dataset: { roomId: room.room_id } },
    h("a", { href, class: "room-link" },
      h("span", { class: "room-name" }, room.title),
      h("span", { class: "meta" },
        room.live ? h("span", { class: "badge", dataset: { live: "true" } }, "Live") : h("span", { class: "badge" }, "Not live yet"),
        room.host_name ? ` with ${room.host_name} · ` : " · ",
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
    say(byId("rooms-error"), `The rooms could not be loaded. ${describe(err)}`);
  } finally {
    list.setAttribute("aria-busy", "false");
  }
}

refresh();
setInterval(refresh, REFRESH_MS);
