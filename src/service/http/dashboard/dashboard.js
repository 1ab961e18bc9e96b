/* global document, window, URLSearchParams, Option */
// Fleet dashboard: health in the header, the fleet table (fleet-table.js), the live accuracy of
// each model over time, and one server's detail at #server=NAME (actuals, forecast band, swaps).
// Server names only ever reach the page through textContent and attributes, never as HTML.
import { timeChart, timeLabel } from './charts.js';
import { FleetTable, ageText } from './fleet-table.js';

const params = new URLSearchParams(window.location.search);
const refreshSeconds = Math.max(1, Number(params.get('refresh')) || 30);
const PALETTE = ['#286ec8', '#c8532d', '#2e8b57', '#8a4bb5', '#b58a00', '#4a5568', '#c2185b', '#00838f'];
const $ = (id) => document.getElementById(id);
const targetSelect = $('target');
const tooltip = $('tooltip');
const table = new FleetTable($('fleet-scroll'), $('fleet-table'), {
  onCount: (shown, total) => {
    $('row-count').textContent = shown === total ? `${total} servers` : `${shown} of ${total} servers`;
  },
});
let firstRender = true;
let accuracy = null;
let tableTime = '';

function text(id, value) {
  $(id).textContent = value;
}

function message(id, value) {
  const el = $(id);
  el.hidden = !value;
  el.textContent = value || '';
}

async function getJson(path) {
  const response = await fetch(path, { headers: { accept: 'application/json' } });
  const body = await response.json();
  return { ok: response.ok, status: response.status, body };
}

function renderHealth(health) {
  const status = $('health-status');
  status.textContent = health.status;
  status.className = `status-${health.status}`;
  text('model-id', health.model_id || 'none');
  text('model-age', health.model_age ? ageText(health.model_age.age_seconds) : '–');
  const swap = health.last_swap;
  text('last-swap', swap ? `${swap.to} at ${swap.at.replace('T', ' ').slice(0, 19)} UTC` : '–');
  message('health-reason', health.reason ? `Reason: ${health.reason}` : '');
}

function renderFleet(doc) {
  message('fleet-message', '');
  const known = new Set([...targetSelect.options].map((o) => o.value));
  for (const t of doc.targets) {
    if (!known.has(t.name))
      targetSelect.append(new Option(t.unit ? `${t.name} (${t.unit})` : t.name, t.name));
  }
  targetSelect.value = doc.target;
  const unit = (doc.targets.find((t) => t.name === doc.target) || {}).unit;
  text(
    'forecast-heading',
    `Next ${ageText(doc.horizon_steps * doc.step_seconds)} (${doc.quantile.toUpperCase()} ${doc.target}${unit ? `, ${unit}` : ''})`,
  );
  table.setData(doc);
  tableTime = doc.generated_at.slice(11, 19);
  const cov = doc.coverage;
  text('server-count', String(doc.rows.length));
  text('coverage', `${cov.coverage_pct}% (${cov.covered}/${cov.expected})`);
  text('unknown-count', String(doc.rows.filter((r) => r[2] === 0).length));
  if (firstRender) {
    firstRender = false;
    performance.mark('fleet-rendered');
    document.body.dataset.fleetRendered = 'true';
  }
}

// No forecasts (no model serves): say so, instead of leaving the counters at "…" or old rows up.
function renderNoFleet(body) {
  tableTime = '';
  table.setData({
    rows: [],
    profiles: [],
    targets: [],
    target: '',
    quantile: 'p50',
    generated_at: new Date().toISOString(),
    step_seconds: 0,
  });
  text('server-count', '–');
  text('coverage', '–');
  text('unknown-count', '–');
  message('fleet-message', `No forecasts: ${(body && body.message) || 'the service answered with an error'}`);
}

function swapMarkers(swaps) {
  return swaps.map((s) => ({
    t: Date.parse(s.at) / 1000,
    kind: s.kind,
    label: `${s.kind}: ${s.from || 'none'} → ${s.to}`,
  }));
}

function renderAccuracy() {
  const box = $('accuracy-chart');
  const legend = $('accuracy-legend');
  if (!accuracy) return;
  message(
    'accuracy-message',
    accuracy.problems.length ? `History reset: ${accuracy.problems.join('; ')}` : '',
  );
  const target = targetSelect.value;
  const lines = [];
  const items = [];
  accuracy.models.forEach((model, i) => {
    const t = model.targets.indexOf(target);
    if (t < 0) return;
    const color = PALETTE[i % PALETTE.length];
    const nQ = model.quantiles.length;
    const near = (goal) =>
      model.quantiles.reduce(
        (b, q, j) => (Math.abs(q - goal) < Math.abs(model.quantiles[b] - goal) ? j : b),
        0,
      );
    for (const [goal, dash] of [
      [0.5, null],
      [0.9, '6 4'],
    ]) {
      const q = near(goal);
      lines.push({
        name: `${model.model} P${Math.round(model.quantiles[q] * 100)}`,
        color,
        dash,
        points: model.samples.map((s) => [s[0], s[2][t * nQ + q]]),
      });
    }
    const li = document.createElement('li');
    const swatch = document.createElement('span');
    swatch.className = 'swatch';
    swatch.style.background = color;
    const label = document.createElement('span');
    const role =
      model.model === accuracy.serving_model
        ? ' (serving)'
        : model.model === accuracy.candidate?.model_id
          ? ` (candidate, ${accuracy.candidate.mode === 'ab' ? 'A/B' : 'shadow'})`
          : '';
    label.textContent = `${model.model}${role}: ${model.samples.length} samples`;
    li.append(swatch, label);
    items.push(li);
  });
  legend.replaceChildren(...items);
  const chart = timeChart({
    title: `Live q-risk of ${target} by model over time`,
    yLabel: `q-risk ${target}`,
    unit: '',
    floor: 0,
    width: Math.max(480, Math.min(1100, box.clientWidth || 900)),
    height: 220,
    lines,
    markers: swapMarkers(accuracy.swaps),
    tooltip,
  });
  box.replaceChildren(chart);
}

async function refreshAccuracy() {
  const res = await getJson('/dashboard/live-accuracy');
  if (res.ok) {
    accuracy = res.body;
    renderAccuracy();
  }
}

async function refreshFleet() {
  const target = targetSelect.value;
  const [health, fleet] = await Promise.all([
    getJson('/health'),
    getJson(`/dashboard/fleet${target ? `?target=${encodeURIComponent(target)}` : ''}`),
  ]);
  renderHealth(health.body);
  if (fleet.ok) renderFleet(fleet.body);
  else renderNoFleet(fleet.body);
}

function fact(label, value) {
  const div = document.createElement('div');
  const dt = document.createElement('dt');
  dt.textContent = label;
  const dd = document.createElement('dd');
  dd.textContent = value;
  div.append(dt, dd);
  return div;
}

function series(start, step, values) {
  const t0 = Date.parse(start) / 1000;
  return values.map((v, i) => [t0 + i * step, v]);
}

function renderServer(detail) {
  text('server-heading', detail.server);
  const flags = [detail.known ? 'known' : 'unknown'];
  if (!detail.in_manifest) flags.push('not in manifest');
  if (detail.pending) flags.push('pending');
  if (detail.stale) flags.push('stale');
  $('server-facts').replaceChildren(
    fact('Profile', detail.profile || '–'),
    fact('Model', detail.model_id),
    fact('Flags', flags.join(', ')),
    fact('Data until', detail.data_time ? `${timeLabel(Date.parse(detail.data_time) / 1000)} UTC` : '–'),
    fact(
      'Live q-risk',
      detail.live_q_risk
        ? `${detail.live_q_risk.q_risk.toFixed(3)} (${detail.live_q_risk.points} points)`
        : '–',
    ),
  );
  message('server-message', detail.reason ? `No forecast: ${detail.reason}` : '');
  const keys = detail.quantiles.map((q) => `p${Number((q * 100).toFixed(2))}`);
  const lo = keys[0];
  const hi = keys[keys.length - 1];
  const mid = keys.reduce(
    (b, k, i) =>
      Math.abs(detail.quantiles[i] - 0.5) < Math.abs(detail.quantiles[keys.indexOf(b)] - 0.5) ? k : b,
    keys[0],
  );
  const markers = swapMarkers(detail.swaps);
  const charts = detail.targets.map((target) => {
    const figure = document.createElement('figure');
    figure.dataset.target = target.name;
    const caption = document.createElement('figcaption');
    caption.textContent = `${target.name}${target.unit ? ` (${target.unit})` : ''}: actuals, ${mid.toUpperCase()} forecast and ${lo.toUpperCase()}–${hi.toUpperCase()} band`;
    const lines = [];
    const bands = [];
    if (target.actuals)
      lines.push({
        name: 'actual',
        color: '#1d2430',
        width: 1.5,
        points: series(target.actuals.start, detail.step_seconds, target.actuals.values),
      });
    for (const [i, served] of target.served.entries()) {
      const q = served.quantiles;
      bands.push({
        name: `earlier forecast ${i + 1} ${lo.toUpperCase()}–${hi.toUpperCase()}`,
        color: 'rgba(120,120,120,0.18)',
        lo: series(served.start, detail.step_seconds, q[lo]),
        hi: series(served.start, detail.step_seconds, q[hi]),
      });
      lines.push({
        name: `earlier forecast ${i + 1} ${mid.toUpperCase()}`,
        color: '#8a8f98',
        dash: '4 3',
        width: 1.5,
        points: series(served.start, detail.step_seconds, q[mid]),
      });
    }
    if (target.forecast) {
      const q = target.forecast.quantiles;
      bands.push({
        name: `forecast ${lo.toUpperCase()}–${hi.toUpperCase()}`,
        color: 'rgba(40,110,200,0.2)',
        lo: series(target.forecast.start, detail.step_seconds, q[lo]),
        hi: series(target.forecast.start, detail.step_seconds, q[hi]),
      });
      lines.push({
        name: `forecast ${mid.toUpperCase()}`,
        color: '#286ec8',
        points: series(target.forecast.start, detail.step_seconds, q[mid]),
      });
    }
    const chart = timeChart({
      title: `${detail.server} ${target.name}${target.unit ? ` in ${target.unit}` : ''}: actuals and forecast over time`,
      yLabel: target.name,
      unit: target.unit,
      width: Math.max(480, Math.min(1100, $('server-charts').clientWidth || 900)),
      height: 260,
      lines,
      bands,
      markers,
      tooltip,
    });
    figure.append(caption, chart);
    return figure;
  });
  $('server-charts').replaceChildren(...charts);
}

async function refreshServer(name) {
  const res = await getJson(`/dashboard/servers/${encodeURIComponent(name)}`);
  if (currentServer() !== name) return;
  if (!res.ok) {
    text('server-heading', name);
    $('server-facts').replaceChildren();
    $('server-charts').replaceChildren();
    message('server-message', res.body && res.body.message ? res.body.message : `error ${res.status}`);
    return;
  }
  renderServer(res.body);
}

function currentServer() {
  const match = /^#server=(.+)$/.exec(window.location.hash);
  if (!match) return null;
  try {
    return decodeURIComponent(match[1]);
  } catch {
    return match[1];
  }
}

function showView() {
  const server = currentServer();
  $('fleet-view').hidden = server !== null;
  $('server-view').hidden = server === null;
  tooltip.hidden = true;
  if (server === null) table.schedule();
  else {
    text('server-heading', server);
    $('server-charts').replaceChildren();
    message('server-message', 'loading…');
  }
  return server;
}

async function refresh() {
  try {
    const server = currentServer();
    await refreshFleet();
    if (server !== null) await refreshServer(server);
    else await refreshAccuracy();
    const made = tableTime ? ` · forecasts made ${tableTime} UTC` : '';
    text('updated', `updated ${new Date().toISOString().slice(11, 19)} UTC${made}`);
  } catch (error) {
    text('updated', `update failed: ${error}`);
  } finally {
    window.setTimeout(refresh, refreshSeconds * 1000);
  }
}

let searchFrame = 0;
$('search').addEventListener('input', (event) => {
  window.cancelAnimationFrame(searchFrame);
  searchFrame = window.requestAnimationFrame(() => table.search(event.target.value));
});
targetSelect.addEventListener('change', () => {
  void refreshFleet();
  renderAccuracy();
});
window.addEventListener('hashchange', () => {
  const server = showView();
  if (server !== null) void refreshServer(server);
  else void refreshAccuracy();
});
showView();
refresh();
