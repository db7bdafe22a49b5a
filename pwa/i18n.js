// The app's strings come from the server's gettext catalogs as JSON, kept on the
// phone for offline use. t("English text", {name: …}) looks one up.

import { kvGet, kvSet } from "./db.js";

export const LANGUAGES = { en: "English", id: "Bahasa Indonesia", fr: "Français" };
let table = {};
let current = "en";

export const lang = () => current;

function interpolate(text, params) {
  return params ? text.replace(/%\((\w+)\)[sd]/g, (_, name) => String(params[name] ?? "")) : text;
}

export function t(message, params) {
  return interpolate(table[message] || message, params);
}

function preferred() {
  for (const tag of navigator.languages || [navigator.language || "en"]) {
    const base = tag.toLowerCase().split("-")[0];
    if (base === "in") return "id";
    if (base in LANGUAGES) return base;
  }
  return "en";
}

/** Load the chosen (or the phone's) language: from the network when possible, else
 * from what was kept on the phone, else English. */
export async function loadLanguage(choice) {
  const code = choice || (await kvGet("lang")) || preferred();
  current = code in LANGUAGES ? code : "en";
  if (choice) await kvSet("lang", current);
  document.documentElement.lang = current;
  // Installing the app names it in this language (the server translates the manifest).
  const manifest = document.querySelector('link[rel="manifest"]');
  if (manifest) manifest.href = `/app/manifest/${current}.webmanifest`;
  let strings = null;
  // The page brings the strings of the browser's language with it (no round trip).
  const inline = document.getElementById("strings");
  if (inline && inline.dataset.lang === current) {
    table = JSON.parse(inline.textContent);
    kvSet(`strings:${current}`, table);
    return current;
  }
  try {
    const response = await fetch(`/app/strings/${current}.json`);
    if (response.ok && (response.headers.get("content-type") || "").includes("application/json")) {
      strings = (await response.json()).strings;
      await kvSet(`strings:${current}`, strings);
    }
  } catch {
    // offline: use the copy kept on the phone
  }
  table = strings || (await kvGet(`strings:${current}`)) || {};
  return current;
}
