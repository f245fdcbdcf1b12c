// The viewer page: room title for now; video, chat and buying arrive with their layers.
const roomId = decodeURIComponent(location.pathname.split("/").pop());
const app = document.getElementById("app");
const answer = await fetch(`/api/rooms/${encodeURIComponent(roomId)}`);
app.textContent = answer.ok ? (await answer.json()).title : "This room does not exist.";
