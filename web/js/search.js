// The home page's search box: results grouped by kind, each a link (keyboard reachable);
// a moment opens its replay at its time.
import { h } from "./dom.js";
import { clockText } from "./format.js";
import { t } from "./i18n.js";

const form = document.getElementById("search");
const out = document.getElementById("search-results");
const GROUPS = [["room", t("search.group.room")], ["product", t("search.group.product")], ["moment", t("search.group.moment")]];

function resultItem(r) {
  const snippet = h("p", { class: "snippet" });
  snippet.innerHTML = r.snippet; // escaped by the server, which adds only <mark>
  const when = r.kind === "moment" ? h("span", { class: "meta" }, " · ", t("search.moment_at", { title: r.room_title || t("search.replay"), at: clockText(r.at_ms) })) : null;
  return h("li", { class: "result", dataset: { kind: r.kind } },
    h("a", { href: r.url, translate: "no" }, r.title), when, snippet);
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const q = new FormData(form).get("q").trim();
  if (!q) return;
  out.hidden = false;
  out.setAttribute("aria-busy", "true");
  try {
    const answer = await fetch(`/api/search?q=${encodeURIComponent(q)}&limit=30`);
    if (!answer.ok) { out.replaceChildren(h("p", { class: "status-note" }, t("search.failed"))); return; }
    const { results } = await answer.json();
    if (!results.length) { out.replaceChildren(h("p", { class: "empty-note" }, t("search.nothing", { q }))); return; }
    const groups = [];
    for (const [kind, name] of GROUPS) {
      const found = results.filter((r) => r.kind === kind);
      if (!found.length) continue;
      groups.push(h("section", { class: "result-group", "aria-label": name },
        h("h2", { class: "sub-heading" }, name), h("ul", { class: "results" }, found.map(resultItem))));
    }
    out.replaceChildren(...groups);
  } catch {
    out.replaceChildren(h("p", { class: "status-note" }, t("search.offline")));
  } finally {
    out.setAttribute("aria-busy", "false");
  }
});
