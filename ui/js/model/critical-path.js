// Critical path of a trace: the chain of span sections that determines its end-to-end latency,
// by the rules Jaeger UI uses. Walking backwards from the root's end, the cursor moves into the
// child that finished last before it; when no child remains, the rest of the span back to its
// start is critical and the walk continues in the parent from that start. Before walking:
// FOLLOWS_FROM (async) children and children starting after their parent ended are left out,
// and children overrunning their parent (either side) are clipped to it. One deliberate
// difference: a child ending exactly at the cursor qualifies (Jaeger requires it to end before),
// so of two sequential calls, one ending as the next starts, both are critical. Iterative; each
// span is entered at most once, so it is O(n log n) and safe for 100,000 spans.

/**
 * The span the path is computed for: the first top-level span that is a real root (no parent
 * id), else the first top-level span. -1 for an empty trace.
 */
export function mainRoot(tree) {
  for (const r of tree.roots) if (!tree.orphan[r]) return r;
  return tree.roots.length ? tree.roots[0] : -1;
}

/**
 * Computes the critical path below `root`. Returns `segments` ({span, start, end} in trace
 * offsets, in time order), `bySpan` (span index → its segments) and `onPath` (1 per span with
 * at least one segment).
 */
export function criticalPath(tree, root = mainRoot(tree)) {
  const { n, spans, parent } = tree;
  const onPath = new Uint8Array(n);
  const bySpan = new Map();
  if (root < 0) return { segments: [], bySpan, onPath };
  const cs = new Float64Array(n);
  const ce = new Float64Array(n);
  const included = new Uint8Array(n);
  const from = tree.pos[root];
  const to = from + tree.size[root];
  for (let p = from; p < to; p++) {
    const i = tree.order[p];
    const s = spans[i];
    if (i === root) {
      cs[i] = s.start;
      ce[i] = s.end;
      included[i] = 1;
      continue;
    }
    const q = parent[i];
    if (!included[q] || s.refType === 'FOLLOWS_FROM' || s.start >= ce[q]) continue;
    const a = Math.max(s.start, cs[q]);
    const b = Math.min(s.end, ce[q]);
    if (b < a) continue;
    cs[i] = a;
    ce[i] = b;
    included[i] = 1;
  }

  // Per span, its included children by clipped end, latest first; a pointer moves down the
  // list as the cursor moves back in time (the cursor never moves forward within a span).
  const lists = new Array(n);
  const ptr = new Int32Array(n);
  const visited = new Uint8Array(n);
  const sortedChildren = (i) => {
    const out = [];
    for (let c = tree.childStart[i]; c < tree.childStart[i + 1]; c++) {
      const child = tree.children[c];
      if (included[child]) out.push(child);
    }
    // Latest end first; on a tie the later start (the one that was waited for last).
    out.sort((a, b) => ce[b] - ce[a] || cs[b] - cs[a] || a - b);
    return out;
  };

  const segments = [];
  const push = (i, a, b) => {
    if (b > a) segments.push({ span: i, start: a, end: b });
  };
  let node = root;
  let cursor = ce[root];
  visited[root] = 1;
  for (;;) {
    const list = (lists[node] ??= sortedChildren(node));
    let k = ptr[node];
    // A child qualifies once it ends at or before the cursor: sequential calls (one ending as
    // the next starts) are both on the path. Visited ones are done (zero-length children
    // would otherwise be entered forever).
    while (k < list.length && (ce[list[k]] > cursor || visited[list[k]])) k++;
    ptr[node] = k;
    if (k < list.length) {
      const child = list[k];
      push(node, ce[child], cursor);
      visited[child] = 1;
      node = child;
      cursor = ce[child];
    } else {
      push(node, cs[node], cursor);
      if (node === root) break;
      cursor = cs[node];
      node = parent[node];
    }
  }
  segments.reverse();
  for (const seg of segments) {
    onPath[seg.span] = 1;
    let list = bySpan.get(seg.span);
    if (!list) bySpan.set(seg.span, (list = []));
    list.push(seg);
  }
  return { segments, bySpan, onPath };
}
