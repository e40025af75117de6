/// `GET /docs`: a self-contained page (no external scripts or styles) that reads
/// `/openapi.json`, lists every route with its schemas, and sends requests from the browser.
enum DocsPage {
    static let html = #"""
<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Osprey API</title>
<style>
body{font-family:system-ui,sans-serif;margin:0;background:#f6f7f9;color:#1d2330}
header{background:#1d2330;color:#fff;padding:16px 24px}header h1{margin:0;font-size:22px}
main{max-width:1000px;margin:0 auto;padding:16px}
.route{background:#fff;border:1px solid #dde1e7;border-radius:6px;margin:12px 0;padding:12px 16px}
.method{display:inline-block;min-width:52px;font-weight:700;color:#fff;border-radius:4px;padding:2px 8px;margin-right:8px;text-align:center}
.get{background:#2f7d32}.post{background:#1f5fae}
.path{font-family:monospace;font-size:16px}
pre{background:#f0f2f5;padding:8px;overflow:auto;max-height:320px;font-size:12px}
textarea{width:100%;height:120px;font-family:monospace}
button{margin-top:6px}details summary{cursor:pointer;margin-top:6px}
#key{width:320px}
</style></head>
<body><header><h1>Osprey OpenAI-compatible API</h1><div id="desc"></div></header>
<main>
<p>API key (sent as <code>Authorization: Bearer</code> when set): <input id="key" placeholder="optional"></p>
<div id="routes">Loading /openapi.json…</div>
</main>
<script>
function resolve(spec, schema, depth) {
  if (!schema || depth > 6) return schema;
  if (schema.$ref) return resolve(spec, spec.components.schemas[schema.$ref.split('/').pop()], depth + 1);
  if (Array.isArray(schema)) return schema.map(s => resolve(spec, s, depth + 1));
  if (typeof schema !== 'object') return schema;
  const out = {};
  for (const k in schema) out[k] = resolve(spec, schema[k], depth + 1);
  return out;
}
function el(tag, attrs, text) { const e = document.createElement(tag); Object.assign(e, attrs || {}); if (text !== undefined) e.textContent = text; return e; }
async function send(method, path, bodyArea, out) {
  const headers = {'Content-Type': 'application/json'};
  const key = document.getElementById('key').value;
  if (key) headers['Authorization'] = 'Bearer ' + key;
  out.textContent = '…';
  try {
    const r = await fetch(path, {method, headers, body: method === 'POST' ? bodyArea.value : undefined});
    const text = await r.text();
    out.textContent = r.status + ' ' + r.statusText + '\n' + text;
  } catch (e) { out.textContent = 'error: ' + e; }
}
fetch('/openapi.json').then(r => r.json()).then(spec => {
  document.getElementById('desc').textContent = spec.info.description;
  const routes = document.getElementById('routes'); routes.textContent = '';
  for (const path of Object.keys(spec.paths)) for (const method of Object.keys(spec.paths[path])) {
    const op = spec.paths[path][method];
    const div = el('div', {className: 'route'});
    div.appendChild(el('span', {className: 'method ' + method}, method.toUpperCase()));
    div.appendChild(el('span', {className: 'path'}, path));
    div.appendChild(el('p', {}, op.summary || ''));
    let area = null;
    const content = op.requestBody && op.requestBody.content['application/json'];
    if (content) {
      const d = el('details'); d.appendChild(el('summary', {}, 'Request schema'));
      d.appendChild(el('pre', {}, JSON.stringify(resolve(spec, content.schema, 0), null, 2))); div.appendChild(d);
      area = el('textarea'); area.value = JSON.stringify(content.example || {}, null, 2); div.appendChild(area);
    }
    const ok = op.responses && op.responses['200'] && op.responses['200'].content && op.responses['200'].content['application/json'];
    if (ok && ok.schema) {
      const d = el('details'); d.appendChild(el('summary', {}, 'Response schema'));
      d.appendChild(el('pre', {}, JSON.stringify(resolve(spec, ok.schema, 0), null, 2))); div.appendChild(d);
    }
    const out = el('pre', {className: 'result'});
    const b = el('button', {}, 'Send ' + method.toUpperCase() + ' ' + path);
    b.onclick = () => send(method.toUpperCase(), path, area, out);
    div.appendChild(b); div.appendChild(out);
    routes.appendChild(div);
  }
}).catch(e => { document.getElementById('routes').textContent = 'could not load /openapi.json: ' + e; });
</script></body></html>
"""#
}
