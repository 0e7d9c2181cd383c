// The span tree of one trace in flat typed arrays, built without recursion so a 100,000-span
// trace (or a 100,000-deep chain) cannot overflow the stack. Owns: parent links (orphans, cycles
// and duplicate ids resolved), the child order (start time, then span id, then arrival: never
// adjusted for clock skew, so the same data always gives the same order), depth, pre-order,
// subtree sizes, the visible-row list under a collapsed set, and self time.

/**
 * Builds the tree. Spans whose parent id is absent from the trace (orphans), and the span at
 * which a parent cycle is broken, become top-level rows; top-level rows are ordered like
 * siblings. A duplicate span id keeps its first span as the target of child references.
 */
export function buildTree(spans) {
  const n = spans.length;
  const parent = new Int32Array(n).fill(-1);
  const orphan = new Uint8Array(n);
  const warnings = [];
  const byId = new Map();
  let duplicates = 0;
  for (let i = 0; i < n; i++) {
    const id = spans[i].spanId;
    if (byId.has(id)) duplicates++;
    else byId.set(id, i);
  }
  if (duplicates) warnings.push(`${duplicates} span${duplicates > 1 ? 's' : ''} with a duplicate span id`);
  let orphans = 0;
  for (let i = 0; i < n; i++) {
    const pid = spans[i].parentId;
    if (!pid) continue;
    const p = byId.get(pid);
    if (p === undefined || p === i) {
      orphan[i] = 1;
      orphans++;
    } else parent[i] = p;
  }
  if (orphans) warnings.push(`${orphans} span${orphans > 1 ? 's' : ''} whose parent is not in the trace`);

  // Cycles: walk up from each span, stamping the walk; meeting this walk's stamp again is a
  // cycle, broken by making that span top-level. Spans stamped by earlier walks reach a root.
  const mark = new Int32Array(n);
  let cycles = 0;
  for (let i = 0, stamp = 1; i < n; i++, stamp++) {
    let j = i;
    while (j !== -1 && mark[j] === 0) {
      mark[j] = stamp;
      j = parent[j];
    }
    if (j !== -1 && mark[j] === stamp) {
      parent[j] = -1;
      orphan[j] = 1;
      cycles++;
    }
  }
  if (cycles) warnings.push(`${cycles} parent cycle${cycles > 1 ? 's' : ''} broken`);

  // One global sort gives every sibling list (and the top level) in order when filled in turn.
  const start = new Float64Array(n);
  for (let i = 0; i < n; i++) start[i] = spans[i].start;
  const sorted = new Int32Array(n);
  for (let i = 0; i < n; i++) sorted[i] = i;
  sorted.sort((a, b) => {
    const d = start[a] - start[b];
    if (d !== 0) return d;
    const ia = spans[a].spanId;
    const ib = spans[b].spanId;
    return ia < ib ? -1 : ia > ib ? 1 : a - b;
  });

  // Children in CSR form: children of i are children[childStart[i] .. childStart[i + 1]).
  const childStart = new Int32Array(n + 1);
  let rootCount = 0;
  for (let i = 0; i < n; i++) {
    if (parent[i] === -1) rootCount++;
    else childStart[parent[i] + 1]++;
  }
  for (let i = 0; i < n; i++) childStart[i + 1] += childStart[i];
  const fill = childStart.slice(0, n);
  const children = new Int32Array(n - rootCount);
  const roots = new Int32Array(rootCount);
  for (let k = 0, r = 0; k < n; k++) {
    const i = sorted[k];
    const p = parent[i];
    if (p === -1) roots[r++] = i;
    else children[fill[p]++] = i;
  }

  // Pre-order with an explicit stack; depth from the parent.
  const order = new Int32Array(n);
  const pos = new Int32Array(n);
  const depth = new Int32Array(n);
  const stack = new Int32Array(n);
  let top = 0;
  for (let r = rootCount - 1; r >= 0; r--) stack[top++] = roots[r];
  let maxDepth = 0;
  for (let k = 0; top > 0; k++) {
    const i = stack[--top];
    order[k] = i;
    pos[i] = k;
    const p = parent[i];
    const d = p === -1 ? 0 : depth[p] + 1;
    depth[i] = d;
    if (d > maxDepth) maxDepth = d;
    for (let c = childStart[i + 1] - 1; c >= childStart[i]; c--) stack[top++] = children[c];
  }
  const size = new Int32Array(n).fill(1);
  for (let k = n - 1; k >= 0; k--) {
    const i = order[k];
    if (parent[i] !== -1) size[parent[i]] += size[i];
  }
  return { n, spans, parent, orphan, childStart, children, roots, order, pos, depth, size, maxDepth, warnings, byId };
}

/** Whether span `i` has children. */
export function hasChildren(tree, i) {
  return tree.childStart[i + 1] > tree.childStart[i];
}

/** The children of span `i`, in order. */
export function childrenOf(tree, i) {
  return tree.children.subarray(tree.childStart[i], tree.childStart[i + 1]);
}

/** A fresh collapsed set (all expanded): one byte per span. */
export function newCollapsed(tree) {
  return new Uint8Array(tree.n);
}

/**
 * The spans shown, in pre-order, skipping the descendants of collapsed spans. Walks pre-order
 * and jumps over collapsed subtrees, so collapsing work is proportional to what is shown.
 */
export function visibleRows(tree, collapsed) {
  const { n, order, size } = tree;
  const rows = new Int32Array(n);
  let k = 0;
  for (let p = 0; p < n; ) {
    const i = order[p];
    rows[k++] = i;
    p += collapsed[i] ? size[i] : 1;
  }
  return rows.subarray(0, k);
}

/** Collapses every span with children: only top-level rows remain. */
export function collapseAll(tree, collapsed) {
  for (let i = 0; i < tree.n; i++) collapsed[i] = hasChildren(tree, i) ? 1 : 0;
}

/** Expands everything. */
export function expandAll(tree, collapsed) {
  collapsed.fill(0);
}

/** Shows rows down to depth `d` (0 = top level only): spans at depth ≥ d are collapsed. */
export function expandToDepth(tree, collapsed, d) {
  for (let i = 0; i < tree.n; i++) collapsed[i] = tree.depth[i] >= d && hasChildren(tree, i) ? 1 : 0;
}

/** Expands every ancestor of `i` so that it is shown; true when something changed. */
export function expandAncestors(tree, collapsed, i) {
  let changed = false;
  for (let p = tree.parent[i]; p !== -1; p = tree.parent[p]) {
    if (collapsed[p]) {
      collapsed[p] = 0;
      changed = true;
    }
  }
  return changed;
}

/** Index of span `i` in `rows` (a visibleRows result), or -1: binary search on pre-order position. */
export function rowOf(tree, rows, i) {
  const target = tree.pos[i];
  let lo = 0;
  let hi = rows.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const p = tree.pos[rows[mid]];
    if (p === target) return mid;
    if (p < target) lo = mid + 1;
    else hi = mid - 1;
  }
  return -1;
}

/**
 * Self time of span `i`: its duration minus the union of its children's intervals, each
 * clipped to the span (children running past it, or in parallel, are not counted twice).
 */
export function selfTime(tree, i) {
  const s = tree.spans[i];
  let covered = 0;
  let runStart = 0;
  let runEnd = -Infinity;
  // Children are in start order, so one pass merges overlapping intervals.
  for (let c = tree.childStart[i]; c < tree.childStart[i + 1]; c++) {
    const child = tree.spans[tree.children[c]];
    const a = Math.max(child.start, s.start);
    const b = Math.min(child.end, s.end);
    if (b <= a) continue;
    if (a > runEnd) {
      if (runEnd > runStart) covered += runEnd - runStart;
      runStart = a;
      runEnd = b;
    } else if (b > runEnd) runEnd = b;
  }
  if (runEnd > runStart) covered += runEnd - runStart;
  return Math.max(0, s.duration - covered);
}

/** The chain from the top-level ancestor down to `i`. */
export function pathTo(tree, i) {
  const path = [];
  for (let p = i; p !== -1; p = tree.parent[p]) path.push(p);
  return path.reverse();
}
