// Layered layout of the service dependency graph (callers left, callees right): cycles broken by
// reversing DFS back edges, longest-path layering (sources pulled next to their callees), dummy
// nodes on edges that skip layers, barycentre sweeps that keep the ordering with the fewest
// crossings, then coordinates: columns as wide as their widest node, gaps as wide as the edge
// labels they carry, rows pulled towards their neighbours (so long edges run straight) without
// overlapping. Edges are routed in the gaps only: a curve between adjacent columns, a straight
// lane through the columns a long edge passes (where a dummy keeps nodes away). Edge labels sit
// on their curve and are moved along it, or up or down, until they overlap no node and no other
// label. Pure and iterative; no DOM.

const DEFAULT_NODE = [150, 34];

/**
 * Minimises Σ (p[i] − desired[i])² subject to p[i+1] − p[i] ≥ sep[i] (positions keep their order
 * and their minimum separations): isotonic regression (pool adjacent violators) on the desired
 * positions less the cumulative separations.
 */
export function pack(desired, sep) {
  const k = desired.length;
  const off = new Float64Array(k);
  for (let i = 1; i < k; i++) off[i] = off[i - 1] + sep[i - 1];
  // Blocks of pooled values: [sum, count].
  const sums = [];
  const counts = [];
  for (let i = 0; i < k; i++) {
    sums.push(desired[i] - off[i]);
    counts.push(1);
    while (sums.length > 1 && sums[sums.length - 2] / counts[counts.length - 2] > sums[sums.length - 1] / counts[counts.length - 1]) {
      const s = sums.pop();
      const c = counts.pop();
      sums[sums.length - 1] += s;
      counts[counts.length - 1] += c;
    }
  }
  const out = new Array(k);
  let i = 0;
  for (let b = 0; b < sums.length; b++) {
    const mean = sums[b] / counts[b];
    for (let c = 0; c < counts[b]; c++, i++) out[i] = mean + off[i];
  }
  return out;
}

/** Whether two centred boxes {x, y, w, h} overlap, with `pad` of clearance. */
export function boxesOverlap(a, b, pad = 0) {
  return Math.abs(a.x - b.x) * 2 < a.w + b.w + 2 * pad && Math.abs(a.y - b.y) * 2 < a.h + b.h + 2 * pad;
}

/**
 * The scale that fits a drawing `contentWidth` wide into `available` pixels: never above `max`
 * (small graphs are not blown up), never below `min` (beyond that the container scrolls
 * sideways rather than text becoming unreadable). Returns {scale, width, scrolls}.
 */
export function fitScale(contentWidth, available, { min = 0.7, max = 1 } = {}) {
  if (!(contentWidth > 0) || !(available > 0)) return { scale: max, width: Math.max(0, contentWidth) * max, scrolls: false };
  const scale = Math.min(max, Math.max(min, available / contentWidth));
  const width = contentWidth * scale;
  return { scale, width, scrolls: width > available + 0.5 };
}

// A point on the gap curve from (x0, y0) to (x1, y1) (horizontal tangents at both ends).
function curveAt(seg, t) {
  const [x0, y0] = seg.from;
  const [x1, y1] = seg.to;
  const mt = 1 - t;
  const mx = (x0 + x1) / 2;
  return [mt * mt * mt * x0 + 3 * mt * t * (mt * mx + t * mx) + t * t * t * x1, y0 + (y1 - y0) * t * t * (3 - 2 * t)];
}

/** Number of crossings between edges [a, b] (positions in two adjacent layers). */
export function countCrossings(pairs) {
  let c = 0;
  for (let i = 0; i < pairs.length; i++) {
    for (let j = i + 1; j < pairs.length; j++) {
      const [a1, b1] = pairs[i];
      const [a2, b2] = pairs[j];
      if ((a1 - a2) * (b1 - b2) < 0) c++;
    }
  }
  return c;
}

/**
 * Lays out `nodeIds` and `edges` ({from, to, …}). Options (pixels): nodeSize(id) → [w, h]
 * (default 150 × 34), labelSize(edge) → [w, h] or null for no label, gap (least space between
 * columns, 70), labelPad (space either side of a label in a gap, 10), nodeSep (between nodes of a
 * column, 36), laneSep (between a passing edge and anything else, 12), maxGap (widest a gap grows
 * for steep edges, 220), margin (20), sweeps (8).
 *
 * Returns {nodes: [{id, layer, order, x, y, w, h}], edges: [{edge, points, reversed, self, path,
 * segments, label}], width, height, crossings}: `points` are the centres the edge passes (its
 * nodes and dummies, in the edge's direction), `path` an SVG path (from the caller's side to the
 * callee's side), `segments` its pieces ({kind: 'C' | 'L', from, to}), `label` {x, y, w, h,
 * anchor: [x, y] on the path, moved: whether it left the path} or null.
 */
export function layoutGraph(nodeIds, edges, opts = {}) {
  const nodeSize = opts.nodeSize ?? (() => DEFAULT_NODE);
  const labelSize = opts.labelSize ?? (() => null);
  const minGap = opts.gap ?? 70;
  const labelPad = opts.labelPad ?? 10;
  const nodeSep = opts.nodeSep ?? 36;
  const laneSep = opts.laneSep ?? 12;
  const margin = opts.margin ?? 20;
  const sweeps = opts.sweeps ?? 8;
  const maxGap = opts.maxGap ?? 220; // widest a gap grows for steep edges

  const ids = [...new Set([...nodeIds, ...edges.flatMap((e) => [e.from, e.to])])];
  const index = new Map(ids.map((id, i) => [id, i]));
  const n = ids.length;
  const out = Array.from({ length: n }, () => []);
  for (const e of edges) if (e.from !== e.to) out[index.get(e.from)].push(index.get(e.to));

  // Back edges of an iterative DFS (from nodes in input order) close the cycles.
  const state = new Uint8Array(n); // 0 new, 1 on stack, 2 done
  const back = new Set();
  for (let s = 0; s < n; s++) {
    if (state[s]) continue;
    const stack = [[s, 0]];
    state[s] = 1;
    while (stack.length) {
      const top = stack[stack.length - 1];
      const [v, k] = top;
      if (k < out[v].length) {
        top[1]++;
        const w = out[v][k];
        if (state[w] === 1) back.add(`${v}>${w}`);
        else if (state[w] === 0) {
          state[w] = 1;
          stack.push([w, 0]);
        }
      } else {
        state[v] = 2;
        stack.pop();
      }
    }
  }
  // The acyclic edge list used for layering (back edges reversed), one entry per drawn edge.
  const dag = [];
  for (const e of edges) {
    if (e.from === e.to) continue;
    const a = index.get(e.from);
    const b = index.get(e.to);
    dag.push(back.has(`${a}>${b}`) ? [b, a] : [a, b]);
  }
  // Longest path from the sources, in Kahn's topological order; then each source moves right
  // next to its nearest callee, so an entry point calling deep into the graph has a short edge.
  const indeg = new Int32Array(n);
  const succ = Array.from({ length: n }, () => []);
  for (const [a, b] of dag) {
    succ[a].push(b);
    indeg[b]++;
  }
  const sources = [];
  for (let v = 0; v < n; v++) if (indeg[v] === 0) sources.push(v);
  const layer = new Int32Array(n);
  const queue = [...sources];
  for (let q = 0; q < queue.length; q++) {
    const v = queue[q];
    for (const w of succ[v]) {
      layer[w] = Math.max(layer[w], layer[v] + 1);
      if (--indeg[w] === 0) queue.push(w);
    }
  }
  for (const v of sources) if (succ[v].length) layer[v] = Math.min(...succ[v].map((w) => layer[w])) - 1;
  const layerCount = n ? Math.max(...layer) + 1 : 0;

  // Real and dummy nodes per layer; a long edge becomes a chain through dummies.
  const layers = Array.from({ length: layerCount }, () => []);
  const vlayer = [...layer];
  for (let v = 0; v < n; v++) layers[layer[v]].push(v);
  const vsucc = Array.from({ length: n }, () => []);
  const vpred = Array.from({ length: n }, () => []);
  const chains = [];
  for (const [a, b] of dag) {
    const chain = [a];
    let prev = a;
    for (let l = layer[a] + 1; l < layer[b]; l++) {
      const d = vlayer.length;
      vlayer.push(l);
      vsucc.push([]);
      vpred.push([]);
      layers[l].push(d);
      vsucc[prev].push(d);
      vpred[d].push(prev);
      chain.push(d);
      prev = d;
    }
    vsucc[prev].push(b);
    vpred[b].push(prev);
    chain.push(b);
    chains.push(chain);
  }
  const total = vlayer.length;

  // Barycentre sweeps, down then up; positions are each node's index within its layer. The
  // ordering with the fewest crossings seen is kept (a sweep can make things worse).
  const posOf = new Float64Array(total);
  const renumber = (l) => layers[l].forEach((v, i) => (posOf[v] = i));
  for (let l = 0; l < layerCount; l++) renumber(l);
  const crossings = () => {
    let c = 0;
    for (let l = 0; l + 1 < layerCount; l++) {
      const pairs = [];
      for (const v of layers[l]) for (const w of vsucc[v]) pairs.push([posOf[v], posOf[w]]);
      c += countCrossings(pairs);
    }
    return c;
  };
  const sweep = (l, neighbours) => {
    const bary = new Map();
    for (const v of layers[l]) {
      const ns = neighbours[v];
      bary.set(v, ns.length ? ns.reduce((s, u) => s + posOf[u], 0) / ns.length : posOf[v]);
    }
    layers[l].sort((a, b) => bary.get(a) - bary.get(b) || posOf[a] - posOf[b]);
    renumber(l);
  };
  let best = crossings();
  let bestLayers = layers.map((list) => [...list]);
  for (let iter = 0; iter < sweeps && best > 0; iter++) {
    for (let l = 1; l < layerCount; l++) sweep(l, vpred);
    for (let l = layerCount - 2; l >= 0; l--) sweep(l, vsucc);
    const c = crossings();
    if (c < best) {
      best = c;
      bestLayers = layers.map((list) => [...list]);
    }
  }
  bestLayers.forEach((list, l) => {
    layers[l] = list;
    renumber(l);
  });

  // Sizes: dummies have none; a node with a self loop needs room above it for the loop.
  const size = new Array(total);
  for (let v = 0; v < total; v++) size[v] = v < n ? nodeSize(ids[v]) : [0, 0];
  const selfLabel = new Map();
  for (const e of edges) if (e.from === e.to) selfLabel.set(index.get(e.from), labelSize(e));
  const loopRise = 30;
  const above = (v) => (selfLabel.has(v) ? loopRise + (selfLabel.get(v)?.[1] ?? 0) + 4 : 0);
  const sep = (a, b) => {
    const real = a < n && b < n;
    return (size[a][1] + size[b][1]) / 2 + (real ? nodeSep : laneSep) + above(b);
  };

  // Columns: as wide as their widest node; gaps: as wide as the labels placed in them.
  const colW = layers.map((list) => Math.max(0, ...list.map((v) => size[v][0])));
  const gapW = new Array(Math.max(0, layerCount - 1)).fill(minGap);
  const labelOf = new Map();
  let c0 = 0;
  for (const e of edges) {
    if (e.from === e.to) continue;
    const chain = chains[c0++];
    const ls = labelSize(e);
    if (!ls) continue;
    labelOf.set(e, ls);
    const g = vlayer[chain[0]] + Math.floor((chain.length - 2) / 2);
    gapW[g] = Math.max(gapW[g], ls[0] + 2 * labelPad);
  }
  // Rows: stacked, then pulled towards the mean of their neighbours, down and up a few times.
  const y = new Float64Array(total);
  const place = (l, want) => {
    const list = layers[l];
    const seps = list.slice(1).map((v, i) => sep(list[i], v));
    pack(list.map(want), seps).forEach((p, i) => (y[list[i]] = p));
  };
  for (let l = 0; l < layerCount; l++) place(l, () => 0);
  const mean = (v, ns) => (ns.length ? ns.reduce((s, u) => s + y[u], 0) / ns.length : y[v]);
  for (let iter = 0; iter < 4; iter++) {
    for (let l = 1; l < layerCount; l++) place(l, (v) => mean(v, vpred[v]));
    for (let l = layerCount - 2; l >= 0; l--) place(l, (v) => mean(v, vsucc[v]));
  }
  for (let l = 0; l < layerCount; l++) place(l, (v) => mean(v, [...vpred[v], ...vsucc[v]]));

  // A gap whose edges climb far (a wide fan-out) gets wider, so its curves are not cliffs.
  for (let l = 0; l + 1 < layerCount; l++) {
    let rise = 0;
    for (const v of layers[l]) for (const w of vsucc[v]) rise = Math.max(rise, Math.abs(y[w] - y[v]));
    gapW[l] = Math.max(gapW[l], Math.min(maxGap, rise * 0.3));
  }
  const colX = new Array(layerCount);
  for (let l = 0; l < layerCount; l++) colX[l] = l === 0 ? colW[0] / 2 : colX[l - 1] + colW[l - 1] / 2 + gapW[l - 1] + colW[l] / 2;

  // Ports: the edges leaving a node's right side (entering its left side) spread over its height
  // in the order of where they go (come from), so they fan out without crossing at the node.
  const portOut = new Map(); // `${chainIndex}` → y offset at the chain's first node
  const portIn = new Map();
  const spread = (list, key, h) => {
    list.sort((a, b) => key(a) - key(b) || a - b);
    const k = list.length;
    const step = k > 1 ? Math.min(8, (h - 12) / (k - 1)) : 0;
    return new Map(list.map((ci, i) => [ci, (i - (k - 1) / 2) * step]));
  };
  const outBy = Array.from({ length: n }, () => []);
  const inBy = Array.from({ length: n }, () => []);
  chains.forEach((chain, ci) => {
    outBy[chain[0]].push(ci);
    inBy[chain.at(-1)].push(ci);
  });
  for (let v = 0; v < n; v++) {
    for (const [ci, o] of spread(outBy[v], (ci) => y[chains[ci][1]] * 1e3 + y[chains[ci].at(-1)], size[v][1])) portOut.set(ci, o);
    for (const [ci, o] of spread(inBy[v], (ci) => y[chains[ci].at(-2)] * 1e3 + y[chains[ci][0]], size[v][1])) portIn.set(ci, o);
  }

  // Edge geometry in layering direction (left to right), reversed afterwards for back edges.
  const inset = 2; // room for the arrow tip at the callee's side
  const geometry = chains.map((chain, ci) => {
    const a = chain[0];
    const b = chain.at(-1);
    const pts = [];
    pts.push([colX[vlayer[a]] + size[a][0] / 2, y[a] + portOut.get(ci)]);
    for (const d of chain.slice(1, -1)) {
      const l = vlayer[d];
      pts.push([colX[l] - colW[l] / 2, y[d]], [colX[l] + colW[l] / 2, y[d]]);
    }
    pts.push([colX[vlayer[b]] - size[b][0] / 2, y[b] + portIn.get(ci)]);
    const segments = [];
    for (let i = 1; i < pts.length; i++) segments.push({ kind: i % 2 ? 'C' : 'L', from: pts[i - 1], to: pts[i], gap: vlayer[a] + Math.floor(i / 2) });
    return segments;
  });

  const nodeBoxes = [];
  for (let v = 0; v < n; v++) nodeBoxes.push({ x: colX[vlayer[v]], y: y[v], w: size[v][0], h: size[v][1] });

  const laidEdges = [];
  let c = 0;
  for (const e of edges) {
    const v = index.get(e.from);
    if (e.from === e.to) {
      const [w, h] = size[v];
      const x = colX[vlayer[v]];
      const top = y[v] - h / 2;
      const dx = Math.min(14, w / 4);
      const segments = [{ kind: 'C', from: [x + dx, top], to: [x - dx, top - inset], c1: [x + dx + 18, top - loopRise * 1.33], c2: [x - dx - 18, top - loopRise * 1.33] }];
      laidEdges.push({ edge: e, points: [[x, y[v]]], reversed: false, self: true, segments, label: null });
      continue;
    }
    const ci = c++;
    const chain = chains[ci];
    const reversed = back.has(`${v}>${index.get(e.to)}`);
    let segments = geometry[ci].map((s) => ({ ...s }));
    if (reversed) segments = segments.reverse().map((s) => ({ ...s, from: s.to, to: s.from }));
    // The arrow end stops short of the node's border.
    const last = segments.at(-1);
    last.to = [last.to[0] + (reversed ? inset : -inset), last.to[1]];
    const points = chain.map((u) => [colX[vlayer[u]], y[u]]);
    if (reversed) points.reverse();
    laidEdges.push({ edge: e, points, reversed, self: false, segments, label: null });
  }

  // Labels: edges within one gap first (they have the fewest places to go), each at the middle
  // of its curve if that is free, else further along the curve (in the middle gap, then the
  // others), else straight up or down from the middle to the nearest free place.
  const placed = [];
  const free = (box) => !nodeBoxes.some((b) => boxesOverlap(box, b, 3)) && !placed.some((b) => boxesOverlap(box, b, 2));
  const order = laidEdges.map((le, i) => i).filter((i) => laidEdges[i].self ? labelSize(laidEdges[i].edge) : labelOf.has(laidEdges[i].edge));
  order.sort((i, j) => laidEdges[i].segments.length - laidEdges[j].segments.length || i - j);
  for (const i of order) {
    const le = laidEdges[i];
    const [w, h] = le.self ? labelSize(le.edge) : labelOf.get(le.edge);
    let box = null;
    let anchor;
    if (le.self) {
      const s = le.segments[0];
      anchor = [(s.from[0] + s.to[0]) / 2, s.from[1] - loopRise];
      box = { x: anchor[0], y: anchor[1] - h / 2 - 2, w, h };
      if (!free(box)) box = null;
    } else {
      const curves = le.segments.filter((s) => s.kind === 'C');
      const mid = Math.floor((curves.length - 1) / 2);
      const byDistance = curves.map((s, k) => [s, Math.abs(k - mid) + (k < mid ? 0.5 : 0)]).sort((p, q) => p[1] - q[1]).map(([s]) => s);
      anchor = curveAt(curves[mid], 0.5);
      search: for (const s of byDistance) {
        for (const t of [0.5, 0.38, 0.62, 0.28, 0.72, 0.2, 0.8]) {
          const p = curveAt(s, t);
          const cand = { x: p[0], y: p[1], w, h };
          if (free(cand)) {
            box = cand;
            anchor = p;
            break search;
          }
        }
      }
    }
    let moved = false;
    if (!box) {
      // Straight up or down from the anchor, whichever is nearer.
      const start = le.self ? anchor[1] - h / 2 - 2 : anchor[1];
      for (let k = 1; k <= 400 && !box; k++) {
        for (const sign of [1, -1]) {
          const cand = { x: anchor[0], y: start + sign * k * (h / 2), w, h };
          if (free(cand)) {
            box = cand;
            break;
          }
        }
      }
      box ??= { x: anchor[0], y: start, w, h };
      moved = true;
    }
    placed.push(box);
    le.label = { ...box, anchor, moved };
  }

  // Bounds of everything drawn; shift so the drawing starts at the margin.
  let minX = Infinity;
  let minY = Infinity;
  let maxX = -Infinity;
  let maxY = -Infinity;
  const cover = (x0, y0, x1, y1) => {
    minX = Math.min(minX, x0);
    minY = Math.min(minY, y0);
    maxX = Math.max(maxX, x1);
    maxY = Math.max(maxY, y1);
  };
  for (const b of nodeBoxes) cover(b.x - b.w / 2, b.y - b.h / 2, b.x + b.w / 2, b.y + b.h / 2);
  for (const le of laidEdges) {
    for (const s of le.segments) for (const p of [s.from, s.to, s.c1, s.c2]) if (p) cover(p[0], p[1], p[0], p[1]);
    if (le.label) cover(le.label.x - le.label.w / 2, le.label.y - le.label.h / 2, le.label.x + le.label.w / 2, le.label.y + le.label.h / 2);
  }
  if (minX === Infinity) minX = minY = maxX = maxY = 0;
  const dx = margin - minX;
  const dy = margin - minY;
  const mv = (p) => (p ? [p[0] + dx, p[1] + dy] : p);
  const nodes = ids.map((id, v) => ({ id, layer: layer[v], order: posOf[v], x: nodeBoxes[v].x + dx, y: nodeBoxes[v].y + dy, w: nodeBoxes[v].w, h: nodeBoxes[v].h }));
  for (const le of laidEdges) {
    le.points = le.points.map(mv);
    le.segments = le.segments.map((s) => ({ ...s, from: mv(s.from), to: mv(s.to), c1: mv(s.c1), c2: mv(s.c2) }));
    if (le.label) le.label = { ...le.label, x: le.label.x + dx, y: le.label.y + dy, anchor: mv(le.label.anchor) };
    le.path = pathOf(le.segments);
  }
  return { nodes, edges: laidEdges, width: maxX - minX + 2 * margin, height: maxY - minY + 2 * margin, crossings: best };
}

const r = (v) => Math.round(v * 10) / 10;

// SVG path data for segments: gap curves leave and enter horizontally.
function pathOf(segments) {
  if (!segments.length) return '';
  let d = `M${r(segments[0].from[0])},${r(segments[0].from[1])}`;
  for (const s of segments) {
    const [x1, y1] = s.to;
    if (s.kind === 'L') d += ` L${r(x1)},${r(y1)}`;
    else {
      const [x0, y0] = s.from;
      const c1 = s.c1 ?? [(x0 + x1) / 2, y0];
      const c2 = s.c2 ?? [(x0 + x1) / 2, y1];
      d += ` C${r(c1[0])},${r(c1[1])} ${r(c2[0])},${r(c2[1])} ${r(x1)},${r(y1)}`;
    }
  }
  return d;
}

/** A point at parameter t on a gap curve segment (exported for tests). */
export const pointOnSegment = curveAt;
