// Colour of each service: one of 12 palette classes (c0…c11 in app.css), from a hash of the
// name so a service keeps its colour across views, moved to the next free class when two
// services of one trace would share it.

export const PALETTE_SIZE = 12;

/** FNV-1a hash of a string, 32-bit. */
export function hashName(name) {
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) {
    h ^= name.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

/** The palette index of a service on its own. */
export function colorIndex(name) {
  return hashName(String(name)) % PALETTE_SIZE;
}

/** Palette indices for a set of services, distinct while there are free colours. */
export function assignColors(names) {
  const out = new Map();
  const used = new Set();
  for (const name of [...new Set(names)].sort()) {
    let c = colorIndex(name);
    if (used.size < PALETTE_SIZE) while (used.has(c)) c = (c + 1) % PALETTE_SIZE;
    used.add(c);
    out.set(name, c);
  }
  return out;
}
