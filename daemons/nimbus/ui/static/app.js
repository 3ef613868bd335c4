// localstorm web UI: reads nimbus's JSON API (Storm UI's REST API) every 2 s and
// renders the cluster overview (#/) or one topology (#/topology/<id>).
// Every text that comes from the API is set as text, never parsed as HTML:
// topology names and error messages are written by users.
'use strict';

const API = document.querySelector('meta[name="api-base"]').content.replace(/\/+$/, '');
const REFRESH_MS = 2000;
const WINDOWS = [['600', '10 min'], ['10800', '3 hours'], ['86400', '1 day'], [':all-time', 'All time']];
const $ = id => document.getElementById(id);
const enc = encodeURIComponent;
// Extensions (charts.js, zk.js, debug.js) register here before the first page shows:
// pages are routes of their own ({route: RegExp over location.hash, shell:
// (match groups, decoded) => shell}); topologySections are async (id, info)
// => nodes, shown after the topology page's cards; componentSections are
// async (id, component, page) => nodes, after a component page's cards;
// edgeLabel(from, stream) adds a line (a rate) under each edge of the
// topology graph.
const ext = {pages: [], topologySections: [], componentSections: [], edgeLabel: null};

// make returns an element builder for a namespace: b('td', {class: 'num'}, kids...).
// Attributes named on* become event listeners; false/null attributes are left out.
const make = ns => (tag, attrs, ...kids) => {
  const e = document.createElementNS(ns, tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === false || v == null) continue;
    if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v === true ? '' : v);
  }
  e.append(...kids.flat(Infinity).filter(k => k != null && k !== false));
  return e;
};
const el = make('http://www.w3.org/1999/xhtml');
const svg = make('http://www.w3.org/2000/svg');

// api calls the API and returns its JSON; an error reply throws its errorMessage.
async function api(path, opts = {}) {
  const res = await fetch(`${API}/api/v1/${path}`, {headers: {Accept: 'application/json'}, ...opts});
  const body = await res.json().catch(() => null);
  if (!res.ok) {
    const err = new Error(body?.errorMessage || body?.error || `${res.status} ${res.statusText}`);
    err.status = res.status;
    throw err;
  }
  return body;
}

const num = n => (n ?? 0).toLocaleString('en-US');
const shortID = id => id.length > 13 ? id.slice(0, 8) + '…' : id;
const badge = status => el('span', {class: `badge ${String(status).toLowerCase()}`}, status);
const topoLink = (id, text) => el('a', {href: `#/topology/${enc(id)}`}, text);
const section = (title, ...kids) => el('section', {}, el('h2', {}, title), ...kids);
const cards = pairs => el('dl', {class: 'cards'}, pairs.map(([k, v]) => el('div', {}, el('dt', {}, k), el('dd', {}, v))));
const ago = secs => secs == null ? '' : secs < 60 ? `${secs}s ago` : secs < 3600 ? `${Math.floor(secs / 60)}m ago` : `${Math.floor(secs / 3600)}h ago`;

// table renders rows under columns [heading, cell(row), class]; class "num"
// right-aligns figures.
function table(cols, rows, empty) {
  if (!rows.length) return el('p', {class: 'muted'}, empty);
  return el('div', {class: 'scroll'}, el('table', {},
    el('thead', {}, el('tr', {}, cols.map(([h, , c]) => el('th', {scope: 'col', class: c}, h)))),
    el('tbody', {}, rows.map(r => el('tr', {}, cols.map(([, f, c]) => el('td', {class: c}, f(r))))))));
}
const n = (h, key) => [h, r => num(r[key]), 'num'];
const lat = (h, key) => [h, r => r[key] || '', 'num'];
const errCell = ['Last error', r => r.lastError ? el('span', {class: 'err', title: r.lastError}, `${ago(r.errorLapsedSecs)}: ${r.lastError}`) : ''];

// ---- Overview: cluster, topologies, supervisors and their slots ----

async function overview() {
  const [cluster, sups, tops] = await Promise.all([
    api('cluster/summary'), api('supervisor/summary'), api('topology/summary')]);
  // A topology's workers say which slot (supervisor, port) each one holds.
  const infos = await Promise.all(tops.topologies.map(t => api(`topology/${enc(t.id)}?window=600`).catch(() => null)));
  const slots = {};
  for (const w of infos.flatMap(i => i?.workers || [])) (slots[w.supervisorId] ||= []).push(w);
  const slotStrip = s => {
    const used = (slots[s.id] || []).sort((a, b) => a.port - b.port);
    const free = Math.max(0, s.slotsTotal - Math.max(used.length, s.slotsUsed));
    return el('ul', {class: 'slots', 'aria-label': `${used.length} used, ${free} free`},
      used.map(w => el('li', {class: 'slot used'}, topoLink(w.topologyId, `${w.port} · ${w.topologyName}`))),
      Array.from({length: free}, () => el('li', {class: 'slot free'}, 'free')));
  };
  return [
    el('p', {class: 'muted'}, `${cluster.stormVersion} · nimbus up ${cluster.nimbusUptime}`),
    cards([
      ['Supervisors', num(cluster.supervisors)],
      ['Slots used', el('span', {}, `${cluster.slotsUsed} / ${cluster.slotsTotal}`,
        el('meter', {min: 0, max: cluster.slotsTotal || 1, value: cluster.slotsUsed, 'aria-label': 'Slots used'}))],
      ['Slots free', num(cluster.slotsFree)], ['Topologies', num(cluster.topologies)],
      ['Executors', num(cluster.executorsTotal)], ['Tasks', num(cluster.tasksTotal)]]),
    section('Topologies', table([
      ['Name', t => topoLink(t.id, t.name)], ['Id', t => el('code', {}, t.id)],
      ['Status', t => [badge(t.status), t.topologyErrors?.length ? el('span', {class: 'err', title: t.topologyErrors.join('\n')}, ' worker crash-looping') : null]],
      ['Uptime', t => t.uptime], n('Workers', 'workersTotal'), n('Executors', 'executorsTotal'), n('Tasks', 'tasksTotal'),
      ['Scheduler', t => t.schedulerInfo || '']], tops.topologies, 'No topology is running. Submit one with localstorm submit.')),
    section('Supervisors', table([
      ['Id', s => el('code', {title: s.id}, shortID(s.id))], ['Host', s => s.host], ['Uptime', s => s.uptime],
      ['Slots', s => `${s.slotsUsed} / ${s.slotsTotal}`, 'num'], ['Slot use', slotStrip], ['Version', s => s.version]],
    sups.supervisors, 'No supervisor is alive.')),
  ];
}

// ---- Topology page ----

const definitions = new Map(); // topology id -> stormtopology.json (it never changes)
let statsWindow = localStorage.getItem('localstorm.window') || '600';
// Storm UI's "show system stats": list __acker and __system too.
let showSystem = localStorage.getItem('localstorm.sys') === '1';

async function topology(id, shell) {
  let info;
  try {
    info = await api(`topology/${enc(id)}?window=${enc(statsWindow)}${showSystem ? '&sys=1' : ''}`);
  } catch (err) {
    if (err.status !== 404) throw err;
    shell.update(null);
    return [el('p', {}, `Topology ${id} is not running (killed?). `, el('a', {href: '#/'}, 'Back to the cluster'))];
  }
  if (!definitions.has(id)) definitions.set(id, await api(`topology/${enc(id)}/definition`).catch(() => null));
  shell.update(info);
  const comps = [...info.spouts.map(s => ({...s, id: s.spoutId})), ...info.bolts.map(b => ({...b, id: b.boltId}))];
  const errors = (await Promise.all(comps.filter(c => c.lastError).map(c =>
    api(`topology/${enc(id)}/component/${enc(c.id)}/errors`)
      .then(r => r.componentErrors.map(e => ({...e, component: c.id})))
      .catch(() => [{component: c.id, error: c.lastError, errorHost: c.errorHost, errorPort: c.errorPort, errorLapsedSecs: c.errorLapsedSecs}]))))
    .flat().sort((a, b) => a.errorLapsedSecs - b.errorLapsedSecs);
  const executors = comps.flatMap(c => (c.executorStats || []).map(e => ({...e, component: c.id})));
  const extra = await Promise.all(ext.topologySections.map(f => f(id, info).catch(err => el('p', {class: 'muted'}, err.message))));
  const over = ` (${info.windowHint || statsWindow})`;
  return [
    info.schedulerInfo && el('p', {class: 'warn'}, `Scheduler: ${info.schedulerInfo}`),
    (info.topologyErrors || []).map(e => el('p', {class: 'warn bad topology-error'}, `Error: ${e}`)),
    cards([['Status', badge(info.status)], ['Uptime', info.uptime], ['Workers', num(info.workersTotal)],
      ['Executors', num(info.executorsTotal)], ['Tasks', num(info.tasksTotal)], ['Message timeout', `${info.msgTimeout} s`]]),
    ...extra.flat(),
    section('Topology stats', table([['Window', w => w.windowPretty], n('Emitted', 'emitted'), n('Transferred', 'transferred'),
      lat('Complete latency (ms)', 'completeLatency'), n('Acked', 'acked'), n('Failed', 'failed')], info.topologyStats || [], 'No stats yet.')),
    section('Topology graph', graph(definitions.get(id), comps)),
    section('Spouts' + over, table([['Id', s => compLink(id, s.spoutId)], n('Executors', 'executors'), n('Tasks', 'tasks'),
      n('Emitted', 'emitted'), n('Transferred', 'transferred'), lat('Complete latency (ms)', 'completeLatency'),
      n('Acked', 'acked'), n('Failed', 'failed'), errCell], info.spouts, 'No spouts.')),
    section('Bolts' + over, table([['Id', b => compLink(id, b.boltId)], n('Executors', 'executors'), n('Tasks', 'tasks'),
      n('Emitted', 'emitted'), n('Transferred', 'transferred'), ['Capacity', b => capacity(b.capacity), 'num'],
      lat('Execute latency (ms)', 'executeLatency'), n('Executed', 'executed'), lat('Process latency (ms)', 'processLatency'),
      n('Acked', 'acked'), n('Failed', 'failed'), errCell], info.bolts, 'No bolts.')),
    section('Executors' + over, table([['Component', e => e.component], ['Id', e => e.id], ['Host:port', e => `${e.host}:${e.port}`],
      ['Alive', e => e.alive ? el('span', {class: 'ok'}, '● alive') : el('span', {class: 'bad'}, '○ dead')], ['Uptime', e => e.uptime],
      n('Emitted', 'emitted'), n('Transferred', 'transferred'), n('Acked', 'acked'), n('Failed', 'failed')], executors, 'No executors are assigned.')),
    section('Workers', table([['Host:port', w => `${w.host}:${w.port}`], ['Supervisor', w => el('code', {title: w.supervisorId}, shortID(w.supervisorId))],
      n('Executors', 'executorsTotal'), ['Tasks per component', w => Object.entries(w.componentNumTasks || {}).map(([c, k]) => `${c} ×${k}`).join(', ')],
      ['Uptime', w => w.uptime]], info.workers || [], 'No workers.')),
    section('Last errors', table([['When', e => ago(e.errorLapsedSecs)], ['Component', e => e.component],
      ['Where', e => e.errorHost ? `${e.errorHost}:${e.errorPort}` : ''], ['Error', e => el('pre', {}, e.error)]], errors, 'No errors reported.')),
  ];
}

// compLink links to a component's page (charts.js).
const compLink = (id, comp) => el('a', {href: `#/topology/${enc(id)}/component/${enc(comp)}`}, comp);
// capacity marks a bolt near saturation (Storm UI's warning threshold is 0.8).
const capacity = c => el('span', {class: parseFloat(c) >= 0.8 ? 'bad' : null}, c || '');

// graph draws the topology as inline SVG: components as boxes in columns by
// their distance from the spouts, streams as arrows labelled with the grouping.
function graph(def, comps) {
  if (!def) return el('p', {class: 'muted'}, 'The topology definition is not available.');
  const W = 160, H = 50, GX = 110, GY = 34, PAD = 24;
  const stats = new Map(comps.map(c => [c.id, c]));
  const nodes = new Map();
  for (const id of Object.keys(def.spouts || {})) nodes.set(id, {id, kind: 'spout', layer: 0});
  for (const id of Object.keys(def.bolts || {})) nodes.set(id, {id, kind: 'bolt', layer: 0});
  const edges = Object.entries(def.bolts || {}).flatMap(([to, b]) => (b.inputs || [])
    .filter(i => nodes.has(i.component)).map(i => ({from: i.component, to, stream: i.stream, g: i.grouping || {}})));
  // Longest path from a spout; bounded by the node count so a cycle cannot loop forever.
  for (let round = 0; round < nodes.size; round++) {
    for (const e of edges) {
      const f = nodes.get(e.from), t = nodes.get(e.to);
      if (f !== t && t.layer <= f.layer && f.layer + 1 < nodes.size) t.layer = f.layer + 1;
    }
  }
  const layers = [];
  for (const v of [...nodes.values()].sort((a, b) => a.id.localeCompare(b.id))) (layers[v.layer] ||= []).push(v);
  const rows = Math.max(1, ...layers.map(l => l?.length || 0));
  layers.forEach((l, x) => (l || []).forEach((v, y) => {
    v.x = PAD + x * (W + GX);
    v.y = PAD + (y + (rows - l.length) / 2) * (H + GY);
  }));
  const width = PAD * 2 + layers.length * (W + GX) - GX, height = PAD * 2 + rows * (H + GY) - GY;
  const label = e => (e.stream && e.stream !== 'default' ? `${e.stream}: ` : '') + e.g.type +
    (e.g.fields?.length ? `(${e.g.fields.join(', ')})` : '') + (e.g.custom ? `(${e.g.custom})` : '');
  const desc = edges.map(e => `${e.from} → ${e.to} (${label(e)})`).join('; ');
  const seen = new Map();
  return el('div', {class: 'scroll'}, svg('svg', {class: 'graph', viewBox: `0 0 ${width} ${height}`, width, height, role: 'img', 'aria-label': `Topology graph: ${desc || 'no streams'}`},
    svg('defs', {}, svg('marker', {id: 'arrow', viewBox: '0 0 10 10', refX: 10, refY: 5, markerWidth: 7, markerHeight: 7, orient: 'auto'},
      svg('path', {d: 'M0 0L10 5L0 10z', class: 'arrowhead'}))),
    edges.map(e => {
      const f = nodes.get(e.from), t = nodes.get(e.to);
      const x1 = f.x + W, y1 = f.y + H / 2, x2 = t.x, y2 = t.y + H / 2, dx = Math.max(50, Math.abs(x2 - x1) / 2);
      const k = seen.get(e.from + '\n' + e.to) || 0; // several streams between two components: stack labels
      seen.set(e.from + '\n' + e.to, k + 1);
      return svg('g', {class: 'edge'}, svg('path', {d: `M${x1} ${y1}C${x1 + dx} ${y1} ${x2 - dx} ${y2} ${x2} ${y2}`, 'marker-end': 'url(#arrow)'}),
        svg('text', {x: (x1 + x2) / 2, y: (y1 + y2) / 2 - 8 - 15 * k, 'text-anchor': 'middle'}, label(e)),
        ext.edgeLabel && svg('text', {x: (x1 + x2) / 2, y: (y1 + y2) / 2 + 14 + 15 * k, 'text-anchor': 'middle', class: 'rate'}, ext.edgeLabel(e.from, e.stream || 'default')));
    }),
    [...nodes.values()].map(v => {
      const s = stats.get(v.id), par = s ? s.executors : (def.spouts?.[v.id] || def.bolts?.[v.id]).parallelism;
      const extra = v.kind === 'bolt' && s?.capacity ? ` · cap ${s.capacity}` : '';
      return svg('g', {class: `node ${v.kind}`}, svg('title', {}, `${v.kind} ${v.id}`),
        svg('rect', {x: v.x, y: v.y, width: W, height: H, rx: 8}),
        svg('text', {x: v.x + W / 2, y: v.y + 21, 'text-anchor': 'middle', class: 'name'}, v.id.length > 20 ? v.id.slice(0, 19) + '…' : v.id),
        svg('text', {x: v.x + W / 2, y: v.y + 39, 'text-anchor': 'middle'}, `${v.kind} ×${par}${extra}`));
    })));
}

// ---- Actions, each confirmed in a dialog ----

// ask shows the confirmation dialog and resolves to its form's values, or null
// when cancelled (button or Escape).
function ask(title, text, fields, danger) {
  const dlg = $('confirm');
  $('confirm-ok').className = danger ? 'danger' : 'primary';
  $('confirm-title').textContent = title;
  $('confirm-text').textContent = text;
  $('confirm-fields').replaceChildren(...fields);
  dlg.returnValue = '';
  dlg.showModal();
  return new Promise(resolve => dlg.addEventListener('close', () =>
    resolve(dlg.returnValue === 'ok' ? new FormData(dlg.querySelector('form')) : null), {once: true}));
}
const field = (label, name, value, placeholder) => el('label', {}, label,
  el('input', {type: 'number', name, min: 0, step: 1, inputmode: 'numeric', value, placeholder}));

const ACTIONS = {
  activate: {label: 'Activate', when: ['INACTIVE'], text: i => `Activate ${i.name}? Its spouts start emitting again.`},
  deactivate: {label: 'Deactivate', when: ['ACTIVE'], text: i => `Deactivate ${i.name}? Its spouts stop emitting; tuples in flight still complete.`},
  rebalance: {
    label: 'Rebalance', when: ['ACTIVE', 'INACTIVE'],
    text: i => `Rebalance ${i.name}? It is deactivated for the wait, then its executors are spread again. Leave a field empty to keep it.`,
    fields: i => [field('Wait (seconds)', 'wait', i.msgTimeout), field('Workers', 'workers', '', i.workersTotal),
      ...[...i.spouts.map(s => [s.spoutId, s.executors]), ...i.bolts.map(b => [b.boltId, b.executors])]
        .filter(([c]) => !c.startsWith('__')).map(([c, k]) => field(`Executors of ${c}`, `executors:${c}`, '', k))],
    path: (id, f) => `rebalance/${enc(f.get('wait') || '0')}`,
    body: f => {
      const o = {};
      if (f.get('workers')) o.numWorkers = Number(f.get('workers'));
      for (const [k, v] of f) if (k.startsWith('executors:') && v) (o.executors ||= {})[k.slice(10)] = Number(v);
      return {rebalanceOptions: o};
    },
  },
  kill: {
    label: 'Kill', when: ['ACTIVE', 'INACTIVE', 'REBALANCING'], danger: true,
    text: i => `Kill ${i.name}? It is deactivated for the wait, then its workers are stopped. This cannot be undone.`,
    fields: i => [field('Wait (seconds)', 'wait', i.msgTimeout)],
    path: (id, f) => `kill/${enc(f.get('wait') || '0')}`,
  },
};

async function runAction(name, info) {
  const a = ACTIONS[name];
  const form = await ask(`${a.label} ${info.name}`, a.text(info), a.fields ? a.fields(info) : [], a.danger);
  if (!form) return;
  // Every POST says JSON, even without a body: nimbus refuses any other type.
  const opts = {method: 'POST', headers: {Accept: 'application/json', 'Content-Type': 'application/json'}};
  if (a.body) opts.body = JSON.stringify(a.body(form));
  try {
    const r = await api(`topology/${enc(info.id)}/${a.path ? a.path(info.id, form) : name}`, opts);
    $('notice').textContent = `${a.label} ${info.name}: ${r.status}`;
  } catch (err) {
    $('notice').textContent = `${a.label} ${info.name} failed: ${err.message}`;
  }
  refresh();
}

// ---- Routing and refresh ----

// A shell is what stays while a page refreshes (the toolbar, so a select
// the user has open is not replaced) and the content that is replaced.
function buildShell(route) {
  for (const p of ext.pages) {
    const m = location.hash.match(p.route);
    if (m) return p.shell(m.slice(1).map(g => decodeURIComponent(g || '')));
  }
  const content = el('div', {});
  if (route.id == null) {
    $('crumbs').replaceChildren(el('li', {}, el('a', {href: '#/', 'aria-current': 'page'}, 'Cluster')));
    return {nodes: [el('h1', {}, 'Cluster'), content], content, load: () => overview()};
  }
  $('crumbs').replaceChildren(el('li', {}, el('a', {href: '#/'}, 'Cluster')), el('li', {}, el('span', {'aria-current': 'page'}, route.id)));
  const title = el('h1', {}, route.id);
  let current = null;
  const buttons = Object.entries(ACTIONS).map(([name, a]) =>
    el('button', {type: 'button', class: a.danger ? 'danger' : null, onclick: () => current && runAction(name, current)}, a.label));
  const select = el('select', {id: 'window', onchange: e => {
    statsWindow = e.target.value;
    localStorage.setItem('localstorm.window', statsWindow);
    refresh();
  }}, WINDOWS.map(([v, t]) => el('option', {value: v, selected: v === statsWindow}, t)));
  const sys = el('input', {type: 'checkbox', id: 'sys', checked: showSystem, onchange: e => {
    showSystem = e.target.checked;
    localStorage.setItem('localstorm.sys', showSystem ? '1' : '0');
    refresh();
  }});
  const shell = {
    content, load: () => topology(route.id, shell),
    nodes: [title, el('div', {class: 'toolbar'}, el('label', {for: 'window'}, 'Stats window '), select,
      sys, el('label', {for: 'sys'}, ' Show system components'),
      el('span', {class: 'actions', role: 'group', 'aria-label': 'Topology actions'}, buttons)), content],
    update: info => {
      current = info;
      if (info) title.textContent = info.name;
      buttons.forEach((b, i) => { b.disabled = !info || !Object.values(ACTIONS)[i].when.includes(info.status); });
    },
  };
  return shell;
}

const parseRoute = () => {
  const m = location.hash.match(/^#\/topology\/([^/]+)/);
  return {id: m ? decodeURIComponent(m[1]) : null};
};

let shell = null, timer = 0, generation = 0;

async function refresh() {
  clearTimeout(timer);
  const gen = ++generation, mine = shell;
  try {
    const view = await mine.load();
    if (gen !== generation) return; // a newer refresh (or page) took over
    mine.content.replaceChildren(...view.filter(Boolean));
    $('banner').hidden = true;
    $('updated').textContent = `Updated ${new Date().toLocaleTimeString()}`;
  } catch (err) {
    if (gen !== generation) return;
    $('banner').textContent = `Cannot read the nimbus API: ${err.message}. Retrying every 2 s.`;
    $('banner').hidden = false;
  }
  if ($('auto').checked && !$('confirm').open) timer = setTimeout(refresh, REFRESH_MS);
}

function navigate() {
  shell = buildShell(parseRoute());
  $('main').replaceChildren(...shell.nodes);
  $('notice').textContent = '';
  refresh();
}

window.addEventListener('hashchange', navigate);
$('auto').addEventListener('change', refresh);
$('confirm').addEventListener('close', () => { if ($('auto').checked) timer = setTimeout(refresh, REFRESH_MS); });
// After every deferred script ran, so extensions have registered.
document.addEventListener('DOMContentLoaded', navigate);
