// The rooms list: live rooms first, with viewer counts, refreshed every few seconds.
const list = document.getElementById("rooms");
const empty = document.getElementById("empty");

async function refresh() {
  const answer = await fetch("/api/rooms?limit=50");
  if (!answer.ok) return;
  const { rooms } = await answer.json();
  list.replaceChildren(...rooms.map(roomItem));
  empty.hidden = rooms.length > 0;
}

function roomItem(room) {
  const item = document.createElement("li");
  const link = document.createElement("a");
  link.href = `/r/${encodeURIComponent(room.room_id)}`;
  link.textContent = room.title;
  const meta = document.createElement("span");
  meta.className = "meta";
  meta.textContent = `${room.host_name} · ${room.live ? "live" : "offline"} · ${room.viewers} watching`;
  item.append(link, " ", meta);
  return item;
}

refresh();
setInterval(refresh, 5000);
