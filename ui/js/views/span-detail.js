// The span detail panel: identity (with copyable ids), timing (offset, duration, self time,
// critical share), status, the server's warnings (clock skew), typed attributes, events with
// their offsets, links, resource and scope. Everything span-derived is set as text.

import { h, copyButton } from '../dom.js';
import { formatDuration, formatTimestamp, formatCount } from '../model/format.js';
import { valueText } from '../model/trace.js';
import { selfTime, childrenOf } from '../model/tree.js';

const TYPE_LABEL = { string: 'str', int: 'int', double: 'double', bool: 'bool', bytes: 'bytes', array: 'array', kvlist: 'map', empty: 'empty' };

function kvTable(rows) {
  return h('table', { class: 'kv' }, h('tbody', {}, rows.map(([k, v]) => h('tr', {}, h('td', {}, k), h('td', {}, v)))));
}

function attributeRows(attributes) {
  return attributes.map((a) => [
    a.key,
    [h('span', { class: `v-${a.type}`, text: valueText(a) }), h('span', { class: 'type', text: TYPE_LABEL[a.type] ?? a.type })],
  ]);
}

function section(title, body) {
  return [h('h3', { text: title }), body];
}

/**
 * Fills `panel` with the detail of span `i`. `actions.select(j)` selects another span,
 * `actions.close()` closes the panel.
 */
export function renderSpanDetail(panel, state, i, actions) {
  const { tree, trace } = state;
  const s = tree.spans[i];
  const parent = tree.parent[i];
  const parentCell = parent !== -1
    ? h('a', { href: '#', onclick: (e) => {
      e.preventDefault();
      actions.select(parent);
    } }, tree.spans[parent].name)
    : s.parentId
      ? [h('span', { class: 'mono', text: s.parentId }), h('span', { class: 'muted', text: ' (not in this trace)' })]
      : h('span', { class: 'muted', text: 'none: root span' });
  const segs = state.cp?.bySpan.get(i) ?? [];
  const critical = segs.reduce((sum, seg) => sum + seg.end - seg.start, 0);
  const rows = [
    ['Service', h('span', {}, h('span', { class: `dot c${state.colorOf[i]}` }), ' ', s.service)],
    ['Kind', s.kind],
    ['Status', s.status === 'error'
      ? h('span', { class: 'err-text', text: s.statusMessage ? `error: ${s.statusMessage}` : 'error' })
      : s.statusMessage ? `${s.status}: ${s.statusMessage}` : s.status],
    ['Span ID', [h('span', { class: 'mono', text: s.spanId }), copyButton(s.spanId, 'span ID')]],
    ['Parent', parentCell],
    ['Trace ID', [h('span', { class: 'mono', text: s.traceId }), copyButton(s.traceId, 'trace ID')]],
    ['Start', `+${formatDuration(s.start)} (${formatTimestamp(trace.startUnixMs + s.start / 1e6)})`],
    ['Duration', formatDuration(s.duration)],
    ['Self time', formatDuration(selfTime(tree, i))],
    ['Critical path', state.cp ? (critical ? formatDuration(critical) : 'not on the critical path') : 'computing…'],
    ['Children', formatCount(childrenOf(tree, i).length)],
    ['Depth', String(tree.depth[i])],
  ];
  if (s.refType === 'FOLLOWS_FROM') rows.push(['Reference', 'FOLLOWS_FROM (async)']);
  if (s.traceState) rows.push(['Trace state', s.traceState]);
  if (s.dropped) rows.push(['Dropped', `${s.dropped.attributes} attributes, ${s.dropped.events} events, ${s.dropped.links} links`]);
  if (tree.orphan[i]) rows.push(['Note', h('span', { class: 'warn', text: 'shown at the top level: its parent is missing or in a cycle' })]);

  const parts = [
    h('button', { class: 'close', type: 'button', title: 'Close (Esc)', onclick: actions.close, text: '✕' }),
    h('h2', { text: s.name || '(no name)' }),
    kvTable(rows),
  ];
  if (s.warnings.length) {
    parts.push(...section(`Warnings (${s.warnings.length})`, h('ul', { class: 'warnings' }, s.warnings.map((w) => h('li', { text: w })))));
  }
  parts.push(...section(`Attributes (${s.attributes.length})`, s.attributes.length ? kvTable(attributeRows(s.attributes)) : h('div', { class: 'muted', text: 'none' })));
  if (s.events.length) {
    parts.push(...section(`Events (${s.events.length})`, s.events.map((e) => h('div', { class: 'event' },
      h('div', {}, h('b', { text: e.name }), ' ', h('span', { class: 'when', text: `+${formatDuration(e.offset - s.start)} in span · +${formatDuration(e.offset)} in trace` })),
      e.attributes.length ? kvTable(attributeRows(e.attributes)) : null))));
  }
  if (s.links.length) {
    parts.push(...section(`Links (${s.links.length})`, s.links.map((l) => {
      const local = l.traceId === s.traceId ? tree.byId.get(l.spanId) : undefined;
      const target = local !== undefined
        ? h('a', { href: '#', onclick: (e) => {
          e.preventDefault();
          actions.select(local);
        } }, `span ${l.spanId} in this trace`)
        : h('a', { href: `/trace/${l.traceId}?span=${l.spanId}`, class: 'mono' }, `${l.traceId} / ${l.spanId}`);
      return h('div', { class: 'event' }, target, l.attributes.length ? kvTable(attributeRows(l.attributes)) : null);
    })));
  }
  const resource = s.resource?.attributes ?? [];
  parts.push(...section(`Resource (${resource.length})`, kvTable(attributeRows(resource))));
  if (s.scope && (s.scope.name || s.scope.version || s.scope.attributes.length)) {
    parts.push(...section('Scope', kvTable([['Name', s.scope.name || '–'], ['Version', s.scope.version || '–'], ...attributeRows(s.scope.attributes)])));
  }
  panel.replaceChildren(...parts.flat(2).filter(Boolean));
}
