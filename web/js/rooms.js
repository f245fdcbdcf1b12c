// The home page: what is on now (pictures, viewer counts), what starts soon (with "add to
// calendar"), and recent shows; refreshed every few seconds.
import { api, describe } from "./api.js";
import { byId, h, say } from "./dom.js";
import { watching } from "./format.js";
import { lang, t, tNodes } from "./i18n.js";

const REFRESH_MS = 5000;

// The room's picture, or a placeholder while there is none (the server answers 404).
function picture(room, cacheKey) {
  const frame = h("span", { class: "thumb", "aria-hidden": "true" });
  const img = h("img", {
    alt: "",
    loading: "lazy",
    src: `/api/rooms/${encodeURIComponent(room.room_id)}/thumbnail.jpg?v=${cacheKey}`,
    onerror: () => { img.remove(); frame.classList.add("no-picture"); },
  });
  frame.append(img);
  return frame;
}

function startsText(ms) {
  return new Date(ms).toLocaleString(lang, { weekday: "short", hour: "2-digit", minute: "2-digit", day: "numeric", month: "short" });
}

// "with Lin": the host's name stays as written, wherever the language puts it.
function withHost(room) {
  return room.host_name
    ? h("span", { class: "host" }, ...tNodes("viewer.with_host", { host: h("span", { translate: "no" }, room.host_name) }))
    : null;
}

function roomItem(room, cacheKey) {
  const href = `/r/${encodeURIComponent(room.room_id)}`;
  return h(
    "li",
    { class: `room-item${room.live ? " is-live" : ""}`, dataset: { roomId: room.room_id } },
    h("a", { href, class: "room-link" },
      room.live ? picture(room, cacheKey) : h("span", { class: "thumb no-picture", "aria-hidden": "true" }),
      h("span", { class: "room-text" },
        h("span", { class: "room-name", translate: "no" }, room.title),
        h("span", { class: "meta" },
          room.live ? h("span", { class: "badge", dataset: { live: "true" } }, t("rooms.live")) : h("span", { class: "badge" }, t("rooms.not_live")),
          withHost(room),
          h("span", { class: "viewers" }, watching(room.viewers))))),
  );
}

function soonItem(room) {
  const id = encodeURIComponent(room.room_id);
  return h("li", { class: "room-item", dataset: { roomId: room.room_id } },
    h("div", { class: "room-link soon" },
      h("a", { href: `/r/${id}`, class: "room-name", translate: "no" }, room.title),
      h("span", { class: "meta" },
        h("time", { datetime: new Date(room.starts_at).toISOString() }, startsText(room.starts_at)),
        room.host_name ? " · " : "", withHost(room)),
      room.description ? h("span", { class: "hint", translate: "no" }, room.description) : null,
      h("a", {
        href: `/api/rooms/${id}/calendar.ics`,
        class: "calendar-link",
        download: `${room.room_id}.ics`,
        "aria-label": t("rooms.add_to_calendar_of", { title: room.title }),
      }, t("rooms.add_to_calendar"))));
}

function replayItem(room) {
  const href = `/r/${encodeURIComponent(room.room_id)}`;
  return h("li", { class: "room-item", dataset: { roomId: room.room_id } },
    h("a", { href, class: "room-link" },
      picture(room, room.ended_at || 0),
      h("span", { class: "room-text" },
        h("span", { class: "room-name", translate: "no" }, room.title),
        h("span", { class: "meta" }, withHost(room), room.host_name ? " · " : "", t("rooms.replay")))));
}

function fill(listId, sectionId, items) {
  byId(listId).replaceChildren(...items);
  if (sectionId) byId(sectionId).hidden = items.length === 0;
}

async function refresh() {
  const list = byId("rooms");
  // Pictures change at most every few seconds: one cache key per refresh.
  const cacheKey = Math.floor(Date.now() / REFRESH_MS);
  try {
    const [onNow, soon, ended] = await Promise.all([
      api("/api/rooms?status=open&limit=50"),
      api("/api/rooms?status=scheduled&limit=10"),
      api("/api/rooms?status=ended&limit=10"),
    ]);
    fill("rooms", null, onNow.rooms.map((r) => roomItem(r, cacheKey)));
    byId("empty").hidden = onNow.rooms.length > 0;
    fill("soon", "soon-section", soon.rooms.map(soonItem));
    fill("replays", "replays-section", ended.rooms.map(replayItem));
    say(byId("rooms-error"), "");
  } catch (err) {
    say(byId("rooms-error"), t("rooms.load_failed", { error: describe(err) }));
  } finally {
    list.setAttribute("aria-busy", "false");
  }
}

refresh();
setInterval(refresh, REFRESH_MS);
