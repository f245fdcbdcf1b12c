// Tiny DOM helpers: build elements without innerHTML, so text from users stays text.

export const byId = (id) => document.getElementById(id);

/** h("button", {type: "button", onclick}, "Buy") -> element. */
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
    else if (key === "class") el.className = value;
    else if (key === "dataset") Object.assign(el.dataset, value);
    else if (key in el && typeof value !== "string") el[key] = value;
    else el.setAttribute(key, value === true ? "" : value);
  }
  el.append(...children.flat().filter((c) => c !== null && c !== undefined && c !== false));
  return el;
}

/** Set an element's text and show it, or hide it when the text is empty. */
export function say(el, text) {
  el.textContent = text || "";
  el.hidden = !text;
}
