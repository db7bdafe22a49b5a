// Whose work is on this phone. A phone may be shared: every draft and outbox item carries
// the id and name of the shopper who recorded it, and only that shopper sees, edits or
// sends it. Another shopper's work stays on the phone, untouched, until its owner logs
// in again (issue "The shopper app on real phones": never mix, never send under the
// wrong account).

import * as db from "./db.js";

/** The owner fields a new draft or outbox item carries. */
export const ownerOf = (user) => ({ owner: user.id, owner_name: user.name });

export const isMine = (item, user) => Boolean(user) && item.owner === user.id;

/** Only the given shopper's items. */
export const mine = (items, user) => items.filter((item) => isMine(item, user));

/** Work on this phone that belongs to other shoppers: how many unsent items, by name. */
export async function othersWork(user) {
  const items = [...await db.all("drafts"),
                 ...(await db.all("outbox")).filter((item) => item.state !== "synced")];
  const names = new Map();
  for (const item of items) {
    if (isMine(item, user) || item.owner === undefined) continue;
    names.set(item.owner_name, (names.get(item.owner_name) || 0) + 1);
  }
  return [...names].map(([name, count]) => ({ name, count }));
}

/** Work recorded before items carried an owner is the logged-in shopper's (the app of
 * that time only held one shopper's work at once). */
export async function adoptUnowned(user) {
  if (!user) return;
  for (const store of ["drafts", "outbox"]) {
    for (const item of await db.all(store)) {
      if (item.owner !== undefined) continue;
      await db.update(store, item.visit_id, (current) =>
        (current && current.owner === undefined ? { ...current, ...ownerOf(user) } : undefined));
    }
  }
}
