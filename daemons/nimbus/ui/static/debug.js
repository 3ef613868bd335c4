// localstorm web UI: Storm UI's "Debug" and "Stop Debug" buttons on the
// topology page and on each component page. Debug asks for a sampling
// percentage and turns the event logger's sampling on (POST
// /api/v1/topology/<id>[/component/<c>]/debug/enable/<pct>); Stop Debug
// turns it off. Both are confirmed first. It extends app.js through ext and
// uses its helpers (el, api, ask, refresh, $, enc).
'use strict';

(() => {
  const DEFAULT_PCT = 10; // Storm UI's default sampling percentage

  const pctField = () => el('label', {}, 'Sampling percentage (0–100)',
    el('input', {type: 'number', name: 'spct', min: 0, max: 100, step: 1, inputmode: 'numeric', value: DEFAULT_PCT, required: true}));

  // debugSection shows whether what (a topology, or one of its components)
  // is debugged and the button that changes it. path is its API path.
  function debugSection(what, path, on, pct) {
    const toggle = async () => {
      const form = on
        ? await ask(`Stop debugging ${what}`, `Stop sampling ${what}'s tuples to the event logger?`, [], false)
        : await ask(`Debug ${what}`, `Sample a percentage of ${what}'s tuples to the event logger (read them with \`localstorm events\` or the worker logs)?`, [pctField()], false);
      if (!form) return;
      const action = on ? 'disable' : 'enable';
      const spct = on ? 0 : Number(form.get('spct'));
      try {
        // Every POST says JSON, even without a body: nimbus refuses any other type.
        const r = await api(`${path}/debug/${action}/${enc(spct)}`, {method: 'POST',
          headers: {Accept: 'application/json', 'Content-Type': 'application/json'}});
        $('notice').textContent = `${on ? 'Stop Debug' : 'Debug'} ${what}: ${r.status}`;
      } catch (err) {
        $('notice').textContent = `${on ? 'Stop Debug' : 'Debug'} ${what} failed: ${err.message}`;
      }
      refresh();
    };
    const state = on ? `on${pct != null ? `, sampling ${pct}%` : ''}` : 'off';
    return el('p', {class: 'debug', 'data-debug': on ? 'on' : 'off'}, `Debug: ${state} `,
      el('button', {type: 'button', 'data-debug-action': on ? 'disable' : 'enable', onclick: toggle}, on ? 'Stop Debug' : 'Debug'));
  }

  ext.topologySections.push(async (id, info) => debugSection(info.name, `topology/${enc(id)}`, info.debug, null));
  ext.componentSections.push(async (id, comp, page) =>
    debugSection(comp, `topology/${enc(id)}/component/${enc(comp)}`, page.debug, page.debug ? page.samplingPct : null));
})();
