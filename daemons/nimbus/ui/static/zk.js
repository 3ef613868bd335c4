// localstorm web UI: the ZooKeeper explorer (#/zk/<path>), read-only. It
// reads /api/v1/zk?path=... and shows a znode's stat, its children as links,
// and Storm's record in it decoded (assignments as a table of executors and
// slots). It refreshes with the page, so a workshop watches an assignment
// change when a worker dies. It extends app.js through ext.
'use strict';

(() => {
  // hashOf is the explorer's URL of a znode path, one encoded segment each.
  const hashOf = path => '#/zk' + (path === '/' ? '' : path.split('/').map(enc).join('/'));
  const join = (path, child) => (path === '/' ? '' : path) + '/' + child;
  const hex = v => '0x' + Number(v).toString(16);
  const when = ms => ms ? new Date(ms).toLocaleString() : '';

  // recordView shows a decoded record; assignments get a table besides.
  function recordView(z) {
    const rec = z.record;
    const views = [];
    if (z.kind === 'assignment' && rec?.executors) {
      const rows = [...rec.executors].sort((a, b) => a.executor.start - b.executor.start);
      views.push(table([['Executor', r => `[${r.executor.start}-${r.executor.end}]`],
        ['Host', r => rec.nodeHost?.[r.slot.node] || ''], ['Port', r => String(r.slot.port), 'num'],
        ['Supervisor', r => el('a', {href: hashOf(`/supervisors/${r.slot.node}`), title: r.slot.node}, shortID(r.slot.node))],
        ['Since', r => new Date(r.startSecs * 1000).toLocaleTimeString()]], rows, 'No executor is assigned.'));
    }
    if (z.kind === 'worker-heartbeat' && rec?.executors) {
      views.push(table([['Executor', e => `[${e.executor.start}-${e.executor.end}]`], ['Component', e => e.component || ''],
        ['Uptime (s)', e => String(e.uptimeSecs ?? ''), 'num']], rec.executors, 'No executors.'));
    }
    views.push(el('pre', {class: 'zk-json'}, JSON.stringify(rec, null, 2)));
    return section(`${z.kind} (decoded)`, ...views);
  }

  function dataView(z) {
    if (z.record) return recordView(z);
    if (z.decodeError) return section(`${z.kind}: does not decode`, el('p', {class: 'bad'}, z.decodeError), el('pre', {class: 'zk-json'}, z.data || z.dataBase64 || ''));
    if (z.data) return section('Data', el('pre', {class: 'zk-json'}, z.data));
    if (z.dataBase64) return section('Data (base64)', el('pre', {class: 'zk-json'}, z.dataBase64));
    return null;
  }

  async function explore(path) {
    const z = await api(`zk?path=${enc(path)}`);
    const st = z.stat;
    return [
      cards([['Children', num(st.numChildren)], ['Data', `${num(st.dataLength)} B`], ['Version', num(st.version)],
        ['Node', st.ephemeralOwner ? 'ephemeral' : 'persistent'], ['Modified', when(st.mtime)]]),
      section('Children', z.children.length ? el('ul', {class: 'zk-children'},
        z.children.map(c => el('li', {}, el('a', {href: hashOf(join(path, c))}, c)))) : el('p', {class: 'muted'}, 'No children.'),
      z.childrenTruncated && el('p', {class: 'warn'}, `Only the first ${z.children.length} of ${st.numChildren} children are listed.`)),
      dataView(z),
      z.dataTruncated && el('p', {class: 'warn'}, 'The data is cut: it is larger than the explorer shows.'),
      section('Stat', table([['Field', r => r[0]], ['Value', r => el('code', {}, r[1])]], [
        ['czxid', hex(st.czxid)], ['mzxid', hex(st.mzxid)], ['pzxid', hex(st.pzxid)],
        ['ctime', when(st.ctime)], ['mtime', when(st.mtime)], ['version', String(st.version)],
        ['cversion', String(st.cversion)], ['aversion', String(st.aversion)],
        ['ephemeralOwner', hex(st.ephemeralOwner)], ['dataLength', String(st.dataLength)], ['numChildren', String(st.numChildren)]], '')),
    ];
  }

  ext.pages.push({
    route: /^#\/zk(\/.*)?$/,
    shell: ([rest]) => {
      // Each segment was encoded on its own; the group was decoded whole.
      const path = rest && rest !== '/' ? rest.replace(/\/+$/, '') : '/';
      const segs = path.split('/').filter(Boolean);
      $('crumbs').replaceChildren(el('li', {}, el('a', {href: '#/'}, 'Cluster')),
        el('li', {}, el('a', {href: '#/zk', 'aria-current': segs.length ? null : 'page'}, 'ZooKeeper')),
        ...segs.map((s, i) => el('li', {}, i === segs.length - 1 ? el('span', {'aria-current': 'page'}, s)
          : el('a', {href: hashOf('/' + segs.slice(0, i + 1).join('/'))}, s))));
      const content = el('div', {});
      return {content, nodes: [el('h1', {}, `ZooKeeper ${path}`), el('p', {class: 'muted'}, 'Read-only view of the cluster\'s ZooKeeper tree (under storm.zookeeper.root), refreshed with the page.'), content],
        load: () => explore(path)};
    },
  });
})();
