// localstorm web UI: the event timeline and the fault buttons, in the
// #timeline-panel beside the page. On the cluster page it follows every
// event; on a topology page, that topology's. It reads the stream
// /api/v1/events/stream (Server-Sent Events) and, when the cluster serves
// faults (`localstorm up`), offers buttons that break the cluster on
// purpose, each confirmed first, so that a room can watch recovery happen.
// It uses app.js's helpers (el, api, ask, $, API, enc); every text from the
// API is set as text.
'use strict';

const TIMELINE_MAX = 300; // events kept on the page
const timeline = {source: null, topology: null, list: null, count: null, faults: null};

// eventClass colours an event by what it means for the cluster.
const eventClass = kind =>
  /lost|exited|expired|crash|killed|fault/.test(kind) ? 'ev-bad' :
  /ready|back|recovered|restored|joined|relaunched/.test(kind) ? 'ev-ok' : null;

function eventItem(e) {
  const when = new Date(e.time);
  return el('li', {class: eventClass(e.kind)},
    el('time', {datetime: e.time, title: when.toISOString()}, when.toLocaleTimeString()),
    el('span', {class: 'kind'}, e.kind),
    el('span', {class: 'what'}, e.details || '',
      e.cause && !(e.details || '').includes(e.cause) ? el('span', {class: 'muted'}, ` (${e.cause})`) : null));
}

// follow (re)opens the stream for the page's topology ("" = the cluster).
function follow(topology) {
  if (timeline.source && timeline.topology === topology) return;
  timeline.source?.close();
  timeline.topology = topology;
  timeline.list.replaceChildren();
  const q = topology ? `?topology=${enc(topology)}` : '';
  // EventSource reconnects by itself after a restart of nimbus, sending
  // Last-Event-ID so that nothing still held is missed or repeated.
  const src = new EventSource(`${API}/api/v1/events/stream${q}`);
  src.onmessage = m => {
    const e = JSON.parse(m.data);
    timeline.list.prepend(eventItem(e));
    while (timeline.list.childElementCount > TIMELINE_MAX) timeline.list.lastElementChild.remove();
    timeline.count.textContent = `${timeline.list.childElementCount} events`;
  };
  src.onerror = () => { timeline.count.textContent = 'Reconnecting to the event stream…'; };
  timeline.source = src;
}

// ---- Faults ----

const numberField = (label, name, value) => el('label', {}, label,
  el('input', {type: 'number', name, min: 0, step: 1, inputmode: 'numeric', value, required: true}));
const selectField = (label, name, options) => el('label', {}, label,
  el('select', {name}, options.map(([v, t]) => el('option', {value: v}, t))));

// The faults the buttons offer: what the confirmation says, its fields and
// the request they make. topo: the topology page's info (null on the cluster page).
const FAULTS = [
  {name: 'kill-worker', label: 'Kill worker', topo: true, danger: true,
    text: t => `Kill a worker of ${t.name} with SIGKILL? Its supervisor relaunches it; tuples in flight time out and are replayed.`},
  {name: 'pause-worker', label: 'Pause worker', topo: true,
    text: t => `Pause a worker of ${t.name} with SIGSTOP? Its heartbeat stops: resume it, or its supervisor replaces it when the heartbeat times out.`},
  {name: 'resume-worker', label: 'Resume worker', topo: true, text: t => `Resume a paused worker of ${t.name} with SIGCONT?`},
  {name: 'stop-supervisor', label: 'Stop supervisor', danger: true, sup: true,
    text: () => 'Stop a supervisor and its workers? Nimbus moves their executors to the others once its ZooKeeper node is gone.'},
  {name: 'start-supervisor', label: 'Start supervisor', sup: true, text: () => 'Start a stopped supervisor again (same id, same slots)?'},
  {name: 'add-supervisor', label: 'Add supervisor', text: () => 'Start one more supervisor with the same number of slots?'},
  {name: 'expire-session', label: 'Expire ZooKeeper session', danger: true,
    text: () => 'Expire a daemon\'s ZooKeeper session on the embedded server? Its ephemeral nodes go; nimbus opens a new session, a supervisor needs start-supervisor.'},
  {name: 'restart-nimbus', label: 'Restart nimbus', danger: true,
    text: () => 'Restart nimbus on the same address? Topologies keep running; this page reconnects in a moment.'},
  {name: 'restart-zookeeper', label: 'Restart ZooKeeper', danger: true,
    text: () => 'Restart the embedded ZooKeeper server? The daemons reconnect and their sessions resume.'},
];

// portOptions lists the topology's worker ports for the worker faults.
const portOptions = t => [['0', 'the lowest port'], ...(t.workers || []).map(w => [String(w.port), `${w.host}:${w.port}`])];

async function injectFault(f) {
  const topo = f.topo ? await currentTopology() : null;
  if (f.topo && !topo) return;
  const fields = [];
  if (f.topo) fields.push(selectField('Worker', 'port', portOptions(topo)));
  if (f.sup) fields.push(numberField('Supervisor (0, 1, …)', 'supervisor', 0));
  if (f.name === 'expire-session') {
    const sups = await api('supervisor/summary').then(s => s.supervisors.length).catch(() => 0);
    fields.push(selectField('Daemon', 'daemon', [['nimbus', 'nimbus'], ...Array.from({length: sups}, (_, i) => [`supervisor-${i}`, `supervisor-${i}`])]));
  }
  const form = await ask(f.label, f.text(topo), fields, f.danger);
  if (!form) return;
  const req = {};
  if (topo) { req.topology = topo.id; req.port = Number(form.get('port') || 0); }
  if (f.sup) req.supervisor = Number(form.get('supervisor'));
  if (form.get('daemon')) req.daemon = form.get('daemon');
  try {
    // A POST says JSON: nimbus refuses other types, and a page on another
    // origin cannot send it without a preflight, which nimbus never grants.
    const r = await api(`faults/${enc(f.name)}`, {method: 'POST',
      headers: {Accept: 'application/json', 'Content-Type': 'application/json'}, body: JSON.stringify(req)});
    $('notice').textContent = `${f.label}: ${r.message}`;
  } catch (err) {
    $('notice').textContent = `${f.label} failed: ${err.message}`;
  }
}

async function currentTopology() {
  if (!timeline.topology) return null;
  try {
    return await api(`topology/${enc(timeline.topology)}?window=600`);
  } catch (err) {
    $('notice').textContent = `Cannot read the topology: ${err.message}`;
    return null;
  }
}

// faultButtons shows the buttons the page can use, when the cluster serves
// faults: a GET of a fault's path is 405 (POST only) there, 404 elsewhere.
async function faultButtons(topology) {
  const res = await fetch(`${API}/api/v1/faults/kill-worker`, {headers: {Accept: 'application/json'}}).catch(() => null);
  if (!res || res.status !== 405) {
    timeline.faults.replaceChildren(el('p', {class: 'muted'}, 'Faults are served by `localstorm up` only.'));
    return;
  }
  timeline.faults.replaceChildren(...FAULTS.filter(f => !f.topo || topology).map(f =>
    el('button', {type: 'button', class: f.danger ? 'danger' : null, 'data-fault': f.name, onclick: () => injectFault(f)}, f.label)));
}

function timelineRoute() {
  const m = location.hash.match(/^#\/topology\/([^/]+)/);
  const topology = m ? decodeURIComponent(m[1]) : '';
  $('timeline-title').textContent = topology ? 'Timeline of this topology' : 'Cluster timeline';
  follow(topology);
  faultButtons(topology);
}

function timelineInit() {
  const panel = $('timeline-panel');
  timeline.list = el('ol', {id: 'events', class: 'events', 'aria-live': 'polite'});
  timeline.count = el('span', {class: 'muted'});
  timeline.faults = el('div', {id: 'faults', class: 'faults', role: 'group', 'aria-label': 'Break the cluster on purpose'});
  panel.replaceChildren(
    el('h2', {}, 'Break it'), timeline.faults,
    el('h2', {id: 'timeline-title'}, 'Cluster timeline'), timeline.count, timeline.list);
  window.addEventListener('hashchange', timelineRoute);
  timelineRoute();
}

timelineInit();
