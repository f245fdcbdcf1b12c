// The home page's search box: results grouped by kind, each a link (keyboard reachable).
const form = document.getElementById("search");
const out = document.getElementById("search-results");
const NAMES = { product: "Products", room: "Shows", moment: "Moments" };

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const q = new FormData(form).get("q").trim();
  if (!q) return;
  const answer = await fetch(`/api/search?q=${encodeURIComponent(q)}&limit=30`);
  out.replaceChildren();
  if (!answer.ok) { out.textContent = "Search failed."; return; }
  const { results } = await answer.json();
  if (!results.length) { out.textContent = "Nothing found."; return; }
  for (const kind of ["room", "product", "moment"]) {
    const group = results.filter((r) => r.kind === kind);
    if (!group.length) continue;
    const heading = document.createElement("h2");
    heading.textContent = NAMES[kind];
    const list = document.createElement("ul");
    for (const r of group) {
      const item = document.createElement("li");
      const link = document.createElement("a");
      link.href = r.url;
      link.textContent = r.title;
      const snip = document.createElement("p");
      snip.innerHTML = r.snippet; // server-escaped, only <mark> added
      item.append(link, snip);
      list.append(item);
    }
    out.append(heading, list);
  }
});
