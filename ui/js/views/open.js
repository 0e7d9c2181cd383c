// The "open file" page: a trace JSON file from disk (OTLP/JSON or Jaeger JSON, detected) is
// parsed in the browser and shown in the waterfall. Nothing is sent to the server or stored;
// reloading the page forgets it.

import { h } from '../dom.js';
import { parseTrace } from '../model/trace.js';
import { renderTraceView } from './trace.js';

/** Route /open. */
export function mountOpen(ctx) {
  ctx.setTitle('Open trace file');
  let cleanup = null;
  const input = h('input', { type: 'file', accept: '.json,application/json', 'aria-label': 'Trace JSON file' });
  const message = h('div', { role: 'alert' });
  const drop = h('div', { class: 'drop' },
    h('b', { text: 'Drop a trace JSON file here' }),
    h('span', { text: 'OTLP/JSON (as downloaded from tracehound, or an ExportTraceServiceRequest) or Jaeger JSON.' }),
    h('span', { text: 'The file is read in your browser only: nothing is uploaded or stored.' }),
    input);
  const page = h('div', { class: 'page' }, h('h1', { text: 'Open a trace file' }), drop, message);
  ctx.root.append(page);

  async function open(file) {
    if (!file) return;
    message.replaceChildren();
    try {
      const text = await file.text();
      let doc;
      try {
        doc = JSON.parse(text);
      } catch (e) {
        throw new Error(`${file.name} is not JSON: ${e.message}`);
      }
      const trace = parseTrace(doc);
      if (!trace.spans.length) throw new Error(`${file.name} holds no spans`);
      const host = h('div', { class: 'trace-host' });
      page.replaceWith(host);
      ctx.setTitle(`${file.name}`);
      cleanup = renderTraceView(host, trace, { ctx, source: 'file', fileName: file.name });
    } catch (e) {
      message.replaceChildren(h('div', { class: 'banner error', text: e.message }));
    }
  }

  input.addEventListener('change', () => open(input.files[0]));
  drop.addEventListener('dragover', (e) => {
    e.preventDefault();
    drop.classList.add('over');
  });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (e) => {
    e.preventDefault();
    drop.classList.remove('over');
    open(e.dataTransfer.files[0]);
  });
  return () => cleanup?.();
}
