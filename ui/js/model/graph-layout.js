// Layered layout of the service dependency graph (callers left, callees right): cycles broken by
// reversing DFS back edges, longest-path layering, dummy nodes on edges that skip layers,
// barycentre ordering sweeps to reduce crossings, then coordinates (edges through dummies take
// narrow lanes). Pure and iterative.

/**
 * Lays out `nodes` (ids) and `edges` ({from, to, …}); returns {nodes: [{id, layer, order, x, y}],
 * edges: [{edge, points: [[x, y], …], reversed, self}], width, height}. Sizes in the same units
 * as `opts` (defaults: layerGap 220, rowGap 70, dummyGap 0.35 × rowGap, margin 90).
 */
export function layoutGraph(nodeIds, edges, opts = {}) {
  const layerGap = opts.layerGap ?? 220;
  const rowGap = opts.rowGap ?? 70;
  const margin = opts.margin ?? 90;
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
  // The acyclic edge list used for layering (back edges reversed).
  const dag = [];
  for (const e of edges) {
    if (e.from === e.to) continue;
    const a = index.get(e.from);
    const b = index.get(e.to);
    dag.push(back.has(`${a}>${b}`) ? [b, a] : [a, b]);
  }
  // Longest path from the sources, in Kahn's topological order.
  const indeg = new Int32Array(n);
  const succ = Array.from({ length: n }, () => []);
  for (const [a, b] of dag) {
    succ[a].push(b);
    indeg[b]++;
  }
  const layer = new Int32Array(n);
  const queue = [];
  for (let v = 0; v < n; v++) if (indeg[v] === 0) queue.push(v);
  for (let q = 0; q < queue.length; q++) {
    const v = queue[q];
    for (const w of succ[v]) {
      layer[w] = Math.max(layer[w], layer[v] + 1);
      if (--indeg[w] === 0) queue.push(w);
    }
  }
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

  // Barycentre sweeps, down then up; positions are each node's index within its layer.
  const posOf = new Float64Array(vlayer.length);
  const renumber = (l) => layers[l].forEach((v, i) => (posOf[v] = i));
  for (let l = 0; l < layerCount; l++) renumber(l);
  const sweep = (l, neighbours) => {
    const bary = new Map();
    for (const v of layers[l]) {
      const ns = neighbours[v];
      bary.set(v, ns.length ? ns.reduce((s, u) => s + posOf[u], 0) / ns.length : posOf[v]);
    }
    layers[l].sort((a, b) => bary.get(a) - bary.get(b) || posOf[a] - posOf[b]);
    renumber(l);
  };
  for (let iter = 0; iter < 6; iter++) {
    for (let l = 1; l < layerCount; l++) sweep(l, vpred);
    for (let l = layerCount - 2; l >= 0; l--) sweep(l, vsucc);
  }

  // Heights: a full row between real nodes, a narrow lane where an edge passes (a dummy), so
  // dense graphs with many long edges stay compact. Each layer is centred.
  const dummyGap = opts.dummyGap ?? rowGap * 0.35;
  const yIn = new Float64Array(vlayer.length);
  const layerHeight = layers.map((list) => {
    let y = 0;
    list.forEach((v, k) => {
      if (k > 0) y += v >= n || list[k - 1] >= n ? dummyGap : rowGap;
      yIn[v] = y;
    });
    return y;
  });
  const tallest = Math.max(0, ...layerHeight);
  const height = margin * 2 + tallest;
  const xy = (v) => {
    const l = vlayer[v];
    return [margin + l * layerGap, margin + (tallest - layerHeight[l]) / 2 + yIn[v]];
  };
  const nodes = ids.map((id, v) => {
    const [x, y] = xy(v);
    return { id, layer: layer[v], order: posOf[v], x, y };
  });
  const laidEdges = [];
  let c = 0;
  for (const e of edges) {
    if (e.from === e.to) {
      const [x, y] = xy(index.get(e.from));
      laidEdges.push({ edge: e, points: [[x, y]], reversed: false, self: true });
      continue;
    }
    const chain = chains[c++];
    const reversed = back.has(`${index.get(e.from)}>${index.get(e.to)}`);
    const points = chain.map(xy);
    if (reversed) points.reverse();
    laidEdges.push({ edge: e, points, reversed, self: false });
  }
  return { nodes, edges: laidEdges, width: margin * 2 + Math.max(0, layerCount - 1) * layerGap, height };
}
