// localstorm web UI: live charts from nimbus's history
// (/api/v1/topology/<id>/history, one sample a second) drawn as inline SVG by
// this file, nothing fetched but the API. It adds a "Live" section to the
// topology page, the rate of each edge of the topology graph, and a page per
// component (#/topology/<id>/component/<component>). It extends app.js
// through ext, and uses its helpers (el, svg, api, ...).
'use strict';

(() => {
  const SECS = 300; // the charts show the last 5 minutes

  // rate formats tuples per second: 1234 → "1.2k".
  const rate = v => v == null ? '–' : v >= 1e6 ? `${(v / 1e6).toFixed(1)}M` : v >= 1e3 ? `${(v / 1e3).toFixed(1)}k` : v >= 10 ? v.toFixed(0) : v.toFixed(1);
  const fixed = d => v => v == null ? '–' : v.toFixed(d);
  const mb = v => v == null ? '–' : `${(v / 1e6).toFixed(0)} MB`;
  const lastKnown = pts => { for (let i = pts.length - 1; i >= 0; i--) if (pts[i] != null) return pts[i]; return null; };

  // niceMax rounds a chart's top up to 1, 2 or 5 times a power of ten.
  function niceMax(v) {
    if (!(v > 0)) return 1;
    const p = 10 ** Math.floor(Math.log10(v));
    return [1, 2, 5, 10].map(k => k * p).find(k => k >= v);
  }

  // pathOf draws points (null: a gap) as one SVG path; it returns the
  // path's d and how many points it holds.
  function pathOf(points, x, y) {
    let d = '', n = 0, pen = false;
    points.forEach((v, i) => {
      if (v == null) { pen = false; return; }
      d += `${pen ? 'L' : 'M'}${x(i).toFixed(1)} ${y(v).toFixed(1)}`;
      pen = true;
      n++;
    });
    return {d, n};
  }

  // chart is one line chart: lines are [{name, points}] over times (Unix s).
  function chart(title, times, lines, fmt) {
    const W = 440, H = 150, L = 52, R = 10, T = 10, B = 22;
    const top = niceMax(Math.max(0, ...lines.flatMap(l => l.points.filter(v => v != null))));
    const span = Math.max(1, times.length - 1);
    const x = i => L + i / span * (W - L - R);
    const y = v => T + (1 - v / top) * (H - T - B);
    const grid = [0, top / 2, top].map(v => svg('g', {class: 'grid'},
      svg('line', {x1: L, x2: W - R, y1: y(v), y2: y(v)}),
      svg('text', {x: L - 6, y: y(v) + 4, 'text-anchor': 'end'}, fmt(v))));
    const mins = Math.round((times.length ? times[times.length - 1] - times[0] : 0) / 60);
    const axis = [svg('text', {x: L, y: H - 6}, mins ? `−${mins} min` : ''), svg('text', {x: W - R, y: H - 6, 'text-anchor': 'end'}, 'now')];
    const paths = lines.map((l, k) => {
      const {d, n} = pathOf(l.points, x, y);
      return svg('path', {d, class: `line s${k % 6}`, 'data-points': n}, svg('title', {}, l.name));
    });
    const empty = !paths.some(p => p.dataset.points > 0);
    return el('figure', {class: 'chart'}, el('figcaption', {}, title),
      svg('svg', {viewBox: `0 0 ${W} ${H}`, width: W, height: H, role: 'img', 'aria-label': `${title}, last ${mins || 0} minutes`}, grid, axis, paths),
      empty ? el('p', {class: 'muted'}, 'No data yet: rates appear after two heartbeats.') :
        el('ul', {class: 'legend'}, lines.map((l, k) => el('li', {class: `s${k % 6}`}, `${l.name} ${fmt(lastKnown(l.points))}`))));
  }

  const charts = (...cs) => el('div', {class: 'charts'}, cs);
  const line = (name, points) => ({name, points: points || []});

  // workerCharts draws each worker's memory and CPU.
  function workerCharts(h) {
    const ws = Object.entries(h.workers || {}).sort(([a], [b]) => a.localeCompare(b));
    if (!ws.length) return [];
    return [chart('Worker memory (RSS)', h.times, ws.map(([w, s]) => line(w, s.rssBytes)), mb),
      chart('Worker CPU (% of a core)', h.times, ws.map(([w, s]) => line(w, s.cpuPercent)), fixed(0))];
  }

  // streamRates is the newest history's edge rates, for the graph.
  let streamRates = new Map();
  ext.edgeLabel = (from, stream) => {
    const v = streamRates.get(`${from}\n${stream}`);
    return v == null ? '' : `${rate(v)}/s`;
  };

  ext.topologySections.push(async id => {
    const h = await api(`topology/${enc(id)}/history?secs=${SECS}`);
    streamRates = new Map(h.streams.map(s => [`${s.from}\n${s.stream}`, s.perSec]));
    const t = h.topology;
    return section('Live (last 5 minutes, 1 s samples)', charts(
      chart('Throughput (tuples/s)', h.times, [line('emitted', t.emitted), line('acked', t.acked)], rate),
      chart('Failures (tuples/s)', h.times, [line('failed', t.failed)], rate),
      chart('Complete latency (ms)', h.times, [line('complete latency', t.completeLatencyMs)], fixed(1)),
      ...workerCharts(h)));
  });

  // ---- Component page ----

  async function component(id, comp, shell) {
    const [page, h] = await Promise.all([
      api(`topology/${enc(id)}/component/${enc(comp)}?window=600`),
      api(`topology/${enc(id)}/component/${enc(comp)}/history?secs=${SECS}`)]);
    shell.title.textContent = `${page.name} › ${comp}`;
    const s = h.components[comp] || {};
    const spout = page.componentType === 'spout';
    const stats = spout ? page.spoutSummary : page.boltStats;
    const extra = await Promise.all(ext.componentSections.map(f => f(id, comp, page).catch(err => el('p', {class: 'muted'}, err.message))));
    return [
      cards([['Type', page.componentType], ['Topology', badge(page.topologyStatus)], ['Executors', num(page.executors)], ['Tasks', num(page.tasks)]]),
      ...extra.flat(),
      section('Live (last 5 minutes, 1 s samples)', charts(
        chart('Throughput (tuples/s)', h.times, [line('emitted', s.emitted), line('acked', s.acked)], rate),
        chart('Failures (tuples/s)', h.times, [line('failed', s.failed)], rate),
        spout ? chart('Complete latency (ms)', h.times, [line('complete latency', s.completeLatencyMs)], fixed(1))
          : chart('Process latency (ms)', h.times, [line('process latency', s.processLatencyMs)], fixed(2)),
        !spout && chart('Capacity', h.times, [line('capacity', s.capacity)], fixed(2)))),
      section(`${spout ? 'Spout' : 'Bolt'} stats`, table([['Window', w => w.windowPretty], n('Emitted', 'emitted'), n('Transferred', 'transferred'),
        spout ? lat('Complete latency (ms)', 'completeLatency') : lat('Process latency (ms)', 'processLatency'),
        n('Acked', 'acked'), n('Failed', 'failed')], stats || [], 'No stats yet.')),
      section('Output stats (10 min)', table([['Stream', o => o.stream], n('Emitted', 'emitted'), n('Transferred', 'transferred'),
        ['Rate now', o => `${rate((h.streams.find(r => r.stream === o.stream) || {}).perSec)}/s`, 'num']], page.outputStats || [], 'No output.')),
      section('Executors (10 min)', table([['Id', e => e.id], ['Host:port', e => `${e.host}:${e.port}`], ['Uptime', e => e.uptime],
        n('Emitted', 'emitted'), n('Acked', 'acked'), n('Failed', 'failed'), ['Capacity', e => e.capacity || '', 'num']], page.executorStats || [], 'No executors.')),
      section('Errors', table([['When', e => ago(e.errorLapsedSecs)], ['Where', e => `${e.errorHost}:${e.errorPort}`], ['Error', e => el('pre', {}, e.error)]],
        page.componentErrors || [], 'No errors reported.')),
    ];
  }

  ext.pages.push({
    route: /^#\/topology\/([^/]+)\/component\/([^/]+)/,
    shell: ([id, comp]) => {
      $('crumbs').replaceChildren(el('li', {}, el('a', {href: '#/'}, 'Cluster')),
        el('li', {}, el('a', {href: `#/topology/${enc(id)}`}, id)), el('li', {}, el('span', {'aria-current': 'page'}, comp)));
      const title = el('h1', {}, comp), content = el('div', {});
      const shell = {title, content, nodes: [title, content], load: () => component(id, comp, shell)};
      return shell;
    },
  });
})();
