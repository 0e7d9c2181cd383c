// Find-in-trace: which spans match a text (case-insensitive substring of the operation name,
// service, span id, status message, warnings, event names, attribute keys or values;
// `key=value` matches an attribute by key and value), stepping through matches in row order,
// and revealing a match by expanding its ancestors. The lower-cased text of each span is built
// once per tree.

import { valueText } from './trace.js';
import { expandAncestors } from './tree.js';

const haystacks = new WeakMap();

// One lower-cased string per span with fields separated by a character no query contains, so
// a match cannot straddle two fields.
function haystackOf(tree) {
  let list = haystacks.get(tree);
  if (list) return list;
  list = new Array(tree.n);
  for (let i = 0; i < tree.n; i++) {
    const s = tree.spans[i];
    const parts = [s.name, s.service, s.spanId, s.statusMessage, ...s.warnings];
    for (const a of s.attributes) parts.push(a.key, valueText(a));
    for (const e of s.events) parts.push(e.name);
    list[i] = parts.join('\u0000').toLowerCase();
  }
  haystacks.set(tree, list);
  return list;
}

function attributeMatcher(query) {
  const eq = query.indexOf('=');
  if (eq <= 0) return null;
  const key = query.slice(0, eq).trim().toLowerCase();
  const value = query.slice(eq + 1).trim().toLowerCase();
  return (span) =>
    span.attributes.some((a) => a.key.toLowerCase() === key && valueText(a).toLowerCase().includes(value)) ||
    span.resource?.attributes.some((a) => a.key.toLowerCase() === key && valueText(a).toLowerCase().includes(value));
}

/** Spans matching `query`, in pre-order (row order). Empty query → no matches. */
export function findMatches(tree, query) {
  const q = String(query ?? '').trim().toLowerCase();
  if (!q) return new Int32Array(0);
  const byAttribute = attributeMatcher(q);
  const hay = byAttribute ? null : haystackOf(tree);
  const out = [];
  for (let p = 0; p < tree.n; p++) {
    const i = tree.order[p];
    if (byAttribute ? byAttribute(tree.spans[i]) : hay[i].includes(q)) out.push(i);
  }
  return Int32Array.from(out);
}

/** A set (one byte per span) of the matches, for row highlighting. */
export function matchSet(tree, matches) {
  const set = new Uint8Array(tree.n);
  for (const i of matches) set[i] = 1;
  return set;
}

/**
 * The next match index after `current` (-1 = none yet) in direction `dir` (+1 / -1),
 * wrapping around; -1 when there are no matches.
 */
export function stepMatch(matches, current, dir = 1) {
  const count = matches.length;
  if (count === 0) return -1;
  if (current < 0) return dir > 0 ? 0 : count - 1;
  return (((current + dir) % count) + count) % count;
}

/** Makes match `i` visible by expanding its ancestors; true when the rows changed. */
export function revealMatch(tree, collapsed, i) {
  return expandAncestors(tree, collapsed, i);
}
