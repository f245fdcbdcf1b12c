// The home page's search box: results grouped by kind, each a link (keyboard reachable);
// a moment opens its replay at its time.
import { h } from "./dom.js";
import { clockText } from "./format.js";

const form = document.getElementById("search");
const out = document.getElementById("search-results");
const GROUPS = [["room", "Shows"], ["product", "Products"], ["moment", "Moments in replays"]];

function resultItem(r) {
  const snippet = h("p", { class: "snippet" });
  snippet.innerHTML = r.snippet; // escaped by the server, which adds only <mark>
  const when = r.kind === "moment" ? h("span", { class: "meta" }, ` · ${r.room_title || "replay"} at ${clockText(r.at_ms)}`) : null;
  return h("li", { class: "result", dataset: { kind: r.kind } },
    h("a", { href: r.url }, r.title), when, snippet);
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const q = new FormData(form).get("q").trim();
  if (!q) return;
  out.hidden = false;
  out.setAttribute("aria-busy", "true");
  try {
    const answer = await fetch(`/api/search?q=${encodeURIComponent(q)}&limit=30`);
    if (!answer.ok) { out.replaceChildren(h("p", { class: "status-note" }, "Search failed. Try other words.")); return; }
    const { results } = await answer.json();
    if (!results.length) { out.replaceChildren(h("p", { class: "empty-note" }, `Nothing found for “${q}”.`)); return; }
    const groups = [];
    for (const [kind, name] of GROUPS) {
      const found = results.filter((r) => r.kind === kind);
      if (!found.length) continue;
      groups.push(h("section", { class: "result-group", "aria-label": name },
        h("h2", { class: "sub-heading" }, name), h("ul", { class: "results" }, found.map(resultItem))));
    }
    out.replaceChildren(...groups);
  } catch {
    out.replaceChildren(h("p", { class: "status-note" }, "Search failed: the server could not be reached."));
  } finally {
    out.setAttribute("aria-busy", "false");
  }
});
