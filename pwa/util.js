// Small helpers shared by the app's modules: ids, times, and a DOM builder.

import { t } from "./i18n.js";

export const uuid = () =>
  crypto.randomUUID
    ? crypto.randomUUID()
    : ([1e7] + -1e3 + -4e3 + -8e3 + -1e11).replace(/[018]/g, (c) =>
        (c ^ (crypto.getRandomValues(new Uint8Array(1))[0] & (15 >> (c / 4)))).toString(16));

/** ISO 8601 in the phone's local time with its UTC offset, second precision. */
export function isoLocal(date = new Date()) {
  const pad = (n) => String(Math.abs(Math.trunc(n))).padStart(2, "0");
  const offset = -date.getTimezoneOffset();
  const sign = offset >= 0 ? "+" : "-";
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}` +
    `T${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}` +
    `${sign}${pad(offset / 60)}:${pad(offset % 60)}`;
}

/** Seconds between two ISO moments, or null when either is missing or out of order. */
export function secondsBetween(from, to) {
  if (!from || !to) return null;
  const s = (Date.parse(to) - Date.parse(from)) / 1000;
  return Number.isFinite(s) && s >= 0 ? s : null;
}

/** An interval such as "38 s" or "3 min 05 s", in the app's language (the same
 * messages as the server's i18n.format_duration). */
export function duration(seconds) {
  if (seconds === null || seconds === undefined) return "–";
  const total = Math.round(seconds);
  const m = Math.floor(total / 60);
  const s = total % 60;
  return m ? t("%(m)s min %(s)s s", { m, s: String(s).padStart(2, "0") }) : t("%(s)s s", { s });
}

/** h("button", {class: "x", onclick: f}, "text", child…): elements without innerHTML. */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
    else if (key === "class") el.className = value;
    else if (key === "value") el.value = value;
    else if (key in el && typeof value !== "string") el[key] = value;
    else el.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : String(child));
  }
  return el;
}

export function localized(texts, lang) {
  if (!texts) return "";
  return texts[lang] || texts.en || Object.values(texts)[0] || "";
}

/** A calendar date (YYYY-MM-DD, a branch's local date) in the app's language. */
/** Minor units (150000, 1250) as the reader's language writes the amount (Rp 150.000,
 *  12,50 €), with the server's decimals for the currency (Intl and CLDR differ on some). */
export function money(minor, currency, digits, language) {
  return new Intl.NumberFormat(language, { style: "currency", currency,
    minimumFractionDigits: digits, maximumFractionDigits: digits }).format(minor / 10 ** digits);
}

export function day(isoDate, language) {
  const [y, m, d] = isoDate.split("-").map(Number);
  return new Date(y, m - 1, d).toLocaleDateString(language, { day: "numeric", month: "short", year: "numeric" });
}

/** Today's date (YYYY-MM-DD) in a time zone (a branch's), else on this phone. */
export function todayIn(timeZone, now = new Date()) {
  try {
    return new Intl.DateTimeFormat("en-CA", { timeZone, year: "numeric", month: "2-digit", day: "2-digit" }).format(now);
  } catch {
    return isoLocal(now).slice(0, 10);
  }
}

/** Days from one YYYY-MM-DD date to another (negative: before). */
export function daysBetween(from, to) {
  return Math.round((Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / 86400e3);
}

/** "tomorrow", "in 4 days", "yesterday" in the app's language (the browser's own words). */
export function relativeDays(days, language) {
  return new Intl.RelativeTimeFormat(language, { numeric: "auto" }).format(days, "day");
}

/** A time zone's name in the app's language ("Western Indonesia Time"), else its IANA id. */
export function zoneName(timeZone, language) {
  try {
    const parts = new Intl.DateTimeFormat(language, { timeZone, timeZoneName: "long" }).formatToParts(new Date());
    return parts.find((p) => p.type === "timeZoneName").value;
  } catch {
    return timeZone;
  }
}
