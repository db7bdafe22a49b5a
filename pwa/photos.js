// Photos on the phone: optionally made smaller before they cost the shopper's data
// plan (long side 2048 px), keeping when they were taken. The server still checks
// everything it receives.

import { kvGet } from "./db.js";
import { isoLocal } from "./util.js";

const LONG_SIDE = 2048;

/** EXIF DateTimeOriginal (and its offset) from a JPEG's first 128 KB, as ISO 8601. */
export async function exifTakenAt(file) {
  if (file.type !== "image/jpeg") return null;
  const view = new DataView(await file.slice(0, 131072).arrayBuffer());
  if (view.byteLength < 4 || view.getUint16(0) !== 0xffd8) return null;
  let pos = 2;
  while (pos + 4 <= view.byteLength) {
    const marker = view.getUint16(pos);
    const length = view.getUint16(pos + 2);
    if (marker === 0xffe1 && view.getUint32(pos + 4) === 0x45786966) return readExif(view, pos + 10);
    if ((marker & 0xff00) !== 0xff00 || marker === 0xffda) return null;
    pos += 2 + length;
  }
  return null;
}

function readExif(view, tiff) {
  const little = view.getUint16(tiff) === 0x4949;
  const u16 = (at) => view.getUint16(at, little);
  const u32 = (at) => view.getUint32(at, little);
  const ascii = (at, n) => String.fromCharCode(...new Uint8Array(view.buffer, at, n)).replace(/\0.*$/, "");
  const entries = (ifd) => {
    const out = {};
    const count = u16(ifd);
    for (let i = 0; i < count; i += 1) {
      const entry = ifd + 2 + i * 12;
      const n = u32(entry + 4);
      out[u16(entry)] = n > 4 ? tiff + u32(entry + 8) : entry + 8;
      out[`n${u16(entry)}`] = n;
    }
    return out;
  };
  try {
    const ifd0 = entries(tiff + u32(tiff + 4));
    if (!(0x8769 in ifd0)) return null;
    const exif = entries(tiff + u32(ifd0[0x8769]));
    if (!(0x9003 in exif)) return null;
    const taken = ascii(exif[0x9003], 19);
    const match = /^(\d{4}):(\d{2}):(\d{2}) (\d{2}:\d{2}:\d{2})$/.exec(taken);
    if (!match) return null;
    const offset = 0x9011 in exif ? ascii(exif[0x9011], 6) : null;
    return `${match[1]}-${match[2]}-${match[3]}T${match[4]}${offset && /^[+-]\d{2}:\d{2}$/.test(offset) ? offset : ""}`;
  } catch {
    return null;
  }
}

/** The photo to keep ({blob, captured_at}): smaller when asked and worth it. */
export async function shrinkPhoto(file) {
  const taken = (await exifTakenAt(file)) || isoLocal(new Date(file.lastModified || Date.now()));
  // EXIF often has no UTC offset: the phone's own offset is the best guess.
  const captured_at = /[+-]\d{2}:\d{2}$|Z$/.test(taken) ? taken : taken + isoLocal().slice(-6);
  if ((await kvGet("shrink_photos")) === false || typeof createImageBitmap !== "function") {
    return { blob: file, captured_at };
  }
  try {
    const bitmap = await createImageBitmap(file); // applies the EXIF orientation
    const scale = LONG_SIDE / Math.max(bitmap.width, bitmap.height);
    if (scale >= 1) {
      bitmap.close();
      return { blob: file, captured_at };
    }
    const width = Math.round(bitmap.width * scale);
    const height = Math.round(bitmap.height * scale);
    const canvas = typeof OffscreenCanvas === "function"
      ? new OffscreenCanvas(width, height) : Object.assign(document.createElement("canvas"), { width, height });
    canvas.getContext("2d").drawImage(bitmap, 0, 0, width, height);
    bitmap.close();
    const blob = canvas.convertToBlob
      ? await canvas.convertToBlob({ type: "image/jpeg", quality: 0.85 })
      : await new Promise((resolve) => canvas.toBlob(resolve, "image/jpeg", 0.85));
    return blob && blob.size < file.size ? { blob, captured_at } : { blob: file, captured_at };
  } catch {
    return { blob: file, captured_at }; // not decodable here: let the server judge it
  }
}
