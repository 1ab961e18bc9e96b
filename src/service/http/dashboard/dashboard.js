/* global document, window, uPlot, IntersectionObserver, URLSearchParams */
// Fleet dashboard: every fleet server with its latest forecast (P50 line, P10–P90 band).
// Server names only ever reach the page through textContent / dataset, never as HTML.
'use strict';

(function () {
  const params = new URLSearchParams(window.location.search);
  const refreshSeconds = Math.max(1, Number(params.get('refresh')) || 30);
  const grid = document.getElementById('servers');
  const targetSelect = document.getElementById('target');
  const cards = new Map();
  let latest = null;

  const observer =
    typeof IntersectionObserver === 'function'
      ? new IntersectionObserver((entries) => {
          for (const entry of entries) {
            if (!entry.isIntersecting) continue;
            observer.unobserve(entry.target);
            const card = cards.get(entry.target.dataset.server);
            if (card) {
              card.visible = true;
              drawChart(card);
            }
          }
        })
      : null;

  function text(id, value) {
    document.getElementById(id).textContent = value;
  }

  function ageText(seconds) {
    if (seconds == null) return '–';
    if (seconds < 3600) return `${Math.round(seconds / 60)} min`;
    if (seconds < 86400 * 2) return `${(seconds / 3600).toFixed(1)} h`;
    return `${(seconds / 86400).toFixed(1)} d`;
  }

  function quantileKeys(quantiles) {
    return quantiles.map((q) => `p${Number((q * 100).toFixed(2))}`);
  }

  function makeCard(name) {
    const el = document.createElement('article');
    el.className = 'server';
    el.dataset.server = name;
    const title = document.createElement('h2');
    title.textContent = name;
    const badges = document.createElement('div');
    const chart = document.createElement('div');
    chart.className = 'chart';
    el.append(title, badges, chart);
    const card = { name, el, badges, chart, plot: null, entry: null, visible: observer === null };
    if (observer) observer.observe(el);
    return card;
  }

  function badge(label, cls) {
    const span = document.createElement('span');
    span.className = `badge ${cls}`;
    span.textContent = label;
    return span;
  }

  function timeText(iso) {
    return `${iso.replace('T', ' ').slice(0, 16)} UTC`;
  }

  function renderBadges(card) {
    const entry = card.entry;
    const list = [entry.known ? badge('known', 'known') : badge('unknown', 'unknown')];
    if (!entry.in_manifest) list.push(badge('not in manifest', 'unknown'));
    if (entry.pending) list.push(badge('pending', 'pending'));
    if (entry.profile) list.push(badge(entry.profile, 'profile'));
    if (!entry.forecast) list.push(badge(entry.reason || 'no forecast', 'missing'));
    if (entry.forecast && entry.stale) list.push(badge(`data until ${timeText(entry.data_time)}`, 'stale'));
    card.el.dataset.known = String(entry.known);
    // greyed: an old forecast, or a server whose window or forecast failed (the badge says why)
    card.el.className = [
      'server',
      entry.forecast && entry.stale ? 'stale' : '',
      entry.forecast ? '' : 'failed',
    ]
      .filter(Boolean)
      .join(' ');
    card.badges.replaceChildren(...list);
  }

  function chartData(entry, target, keys) {
    const series = entry.forecast[target];
    const n = series[keys[0]].length;
    const start = Date.parse(entry.start) / 1000;
    const xs = Array.from({ length: n }, (_, i) => start + i * entry.step_seconds);
    const lo = series[keys[0]];
    const hi = series[keys[keys.length - 1]];
    const mid = series[keys[Math.floor(keys.length / 2)]];
    return [xs, lo, mid, hi];
  }

  function drawChart(card) {
    if (!card.visible || !latest || !card.entry || !card.entry.forecast || typeof uPlot !== 'function')
      return;
    const target = targetSelect.value || latest.targets[0];
    const keys = quantileKeys(latest.quantiles);
    const data = chartData(card.entry, target, keys);
    if (card.plot && card.plot.target === target) {
      card.plot.instance.setData(data);
      return;
    }
    if (card.plot) card.plot.instance.destroy();
    const width = Math.max(200, card.chart.clientWidth || 260);
    const opts = {
      width,
      height: 110,
      legend: { show: false },
      cursor: { show: false },
      scales: { x: { time: true } },
      axes: [
        { size: 24, font: '10px system-ui' },
        { size: 40, font: '10px system-ui' },
      ],
      series: [
        {},
        { label: keys[0], stroke: 'rgba(40,110,200,0.4)', width: 1 },
        { label: keys[Math.floor(keys.length / 2)], stroke: '#286ec8', width: 2 },
        { label: keys[keys.length - 1], stroke: 'rgba(40,110,200,0.4)', width: 1 },
      ],
      bands: [{ series: [3, 1], fill: 'rgba(40,110,200,0.15)' }],
    };
    card.plot = { target, instance: new uPlot(opts, data, card.chart) };
  }

  function fleetMessage(message) {
    const el = document.getElementById('fleet-message');
    el.hidden = !message;
    el.textContent = message || '';
  }

  function clearCards() {
    for (const card of cards.values()) {
      if (card.plot) card.plot.instance.destroy();
      if (observer) observer.unobserve(card.el);
      card.el.remove();
    }
    cards.clear();
  }

  // No forecasts (no model serves): say so, instead of leaving the counters at "…" or old cards up.
  function renderNoFleet(body) {
    latest = null;
    clearCards();
    text('server-count', '–');
    text('coverage', '–');
    text('unknown-count', '–');
    fleetMessage(`No forecasts: ${(body && body.message) || 'the service answered with an error'}`);
  }

  function renderFleet(fleet) {
    latest = fleet;
    fleetMessage('');
    if (targetSelect.options.length === 0) {
      for (const t of fleet.targets) targetSelect.append(new window.Option(t, t));
    }
    const seen = new Set();
    for (const entry of fleet.servers) {
      seen.add(entry.server);
      let card = cards.get(entry.server);
      if (!card) {
        card = makeCard(entry.server);
        cards.set(entry.server, card);
      }
      card.entry = entry;
      grid.append(card.el); // keeps the fleet's order
      renderBadges(card);
      drawChart(card);
    }
    for (const [name, card] of cards) {
      if (seen.has(name)) continue;
      if (card.plot) card.plot.instance.destroy();
      if (observer) observer.unobserve(card.el);
      card.el.remove();
      cards.delete(name);
    }
    const cov = fleet.coverage;
    text('server-count', String(fleet.servers.length));
    text('coverage', `${cov.coverage_pct}% (${cov.covered}/${cov.expected})`);
    text('unknown-count', String(fleet.servers.filter((s) => !s.known).length));
  }

  function renderHealth(health) {
    const status = document.getElementById('health-status');
    status.textContent = health.status;
    status.className = `status-${health.status}`;
    text('model-id', health.model_id || 'none');
    text('model-age', health.model_age ? ageText(health.model_age.age_seconds) : '–');
    const swap = health.last_swap;
    text('last-swap', swap ? `${swap.to} at ${swap.at.replace('T', ' ').slice(0, 19)} UTC` : '–');
    const reason = document.getElementById('health-reason');
    reason.hidden = !health.reason;
    reason.textContent = health.reason ? `Reason: ${health.reason}` : '';
  }

  async function getJson(path) {
    const response = await fetch(path, { headers: { accept: 'application/json' } });
    const body = await response.json();
    return { ok: response.ok, body };
  }

  async function refresh() {
    try {
      const [health, fleet] = await Promise.all([getJson('/health'), getJson('/forecast/fleet')]);
      renderHealth(health.body);
      if (fleet.ok) renderFleet(fleet.body);
      else renderNoFleet(fleet.body);
      text('updated', `updated ${new Date().toISOString().slice(11, 19)} UTC`);
    } catch (error) {
      text('updated', `update failed: ${error}`);
    } finally {
      window.setTimeout(refresh, refreshSeconds * 1000);
    }
  }

  targetSelect.addEventListener('change', () => {
    for (const card of cards.values()) drawChart(card);
  });
  refresh();
})();
