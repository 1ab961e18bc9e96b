/* global document */
// SVG charts for the dashboard, without a library: sparklines for the fleet table and time
// charts (dates on the x axis, units on the y axis, hover tooltips, deploy/rollback markers).
// Text reaches the page only through textContent; no markup is ever built from strings.

const SVG = 'http://www.w3.org/2000/svg';
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const HOUR = 3600;
const TIME_STEPS = [HOUR, 2 * HOUR, 3 * HOUR, 6 * HOUR, 12 * HOUR, 24 * HOUR, 48 * HOUR, 7 * 24 * HOUR];

/** An SVG element with attributes (values set as attributes, never parsed as markup). */
export function svg(name, attrs = {}, parent = null) {
  const el = document.createElementNS(SVG, name);
  for (const [key, value] of Object.entries(attrs)) el.setAttribute(key, String(value));
  if (parent) parent.append(el);
  return el;
}

/** `1 Dec 14:00` (UTC); with `dateOnly`, `1 Dec`. */
export function timeLabel(seconds, dateOnly = false) {
  const d = new Date(seconds * 1000);
  const day = `${d.getUTCDate()} ${MONTHS[d.getUTCMonth()]}`;
  if (dateOnly) return day;
  const hh = String(d.getUTCHours()).padStart(2, '0');
  const mm = String(d.getUTCMinutes()).padStart(2, '0');
  return `${day} ${hh}:${mm}`;
}

/** A value with its unit: `41.2 %`, `12.5 ms`, `0.031` (no unit). */
export function withUnit(value, unit) {
  if (value == null || !Number.isFinite(value)) return '–';
  const abs = Math.abs(value);
  const text =
    abs >= 100 ? value.toFixed(0) : abs >= 10 ? value.toFixed(1) : String(Number(value.toPrecision(3)));
  return unit ? `${text} ${unit}` : text;
}

/** Round tick values (1, 2, 5 × 10^k) covering [lo, hi]. */
export function niceTicks(lo, hi, count = 5) {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw) ?? 10 * power;
  const ticks = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step)
    ticks.push(Number(v.toPrecision(12)));
  return ticks;
}

/** Tick times (epoch seconds) on whole hours or days, at most `max` of them. */
export function timeTicks(t0, t1, max = 7) {
  const step = TIME_STEPS.find((s) => (t1 - t0) / s <= max) ?? TIME_STEPS[TIME_STEPS.length - 1];
  const ticks = [];
  for (let t = Math.ceil(t0 / step) * step; t <= t1; t += step) ticks.push(t);
  return { ticks, dateOnly: step >= 24 * HOUR };
}

/**
 * A small line of `values` scaled to [lo, hi], as an SVG with a text alternative (aria-label and
 * a <title> shown on hover).
 */
export function sparkline(values, lo, hi, label, width = 120, height = 22) {
  const root = svg('svg', { width, height, viewBox: `0 0 ${width} ${height}`, role: 'img', class: 'spark' });
  root.setAttribute('aria-label', label);
  svg('title', {}, root).textContent = label;
  svg('path', { d: sparkPath(values, lo, hi, width, height) }, root);
  return root;
}

export function sparkPath(values, lo, hi, width = 120, height = 22) {
  if (!values || values.length === 0) return '';
  const span = hi > lo ? hi - lo : 1;
  const dx = values.length > 1 ? (width - 2) / (values.length - 1) : 0;
  let d = '';
  for (let i = 0; i < values.length; i++) {
    const x = 1 + i * dx;
    const y = height - 1 - ((values[i] - lo) / span) * (height - 2);
    d += `${i === 0 ? 'M' : 'L'}${x.toFixed(1)} ${y.toFixed(1)}`;
  }
  return d;
}

/**
 * A time chart. `spec`: {
 *   title, unit, width, height,
 *   lines: [{ name, color, dash?, width?, points: [[t, v|null], …] }],
 *   bands: [{ name, color, lo: [[t, v]], hi: [[t, v]] }],
 *   markers: [{ t, label, kind }],   // vertical lines (deploy / rollback)
 *   tooltip: the element that shows hover values,
 * }
 * Returns the <svg>. Times are epoch seconds (UTC).
 */
export function timeChart(spec) {
  const width = spec.width ?? 760;
  const height = spec.height ?? 260;
  const m = { left: 64, right: 16, top: 22, bottom: 42 };
  const lines = spec.lines ?? [];
  const bands = spec.bands ?? [];
  const markers = spec.markers ?? [];
  const all = [];
  for (const line of lines) for (const p of line.points) if (p[1] != null) all.push(p);
  for (const band of bands) for (const p of [...band.lo, ...band.hi]) if (p[1] != null) all.push(p);
  const root = svg('svg', {
    width,
    height,
    viewBox: `0 0 ${width} ${height}`,
    role: 'img',
    class: 'time-chart',
  });
  root.setAttribute('aria-label', spec.title);
  svg('title', {}, root).textContent = spec.title;
  if (all.length === 0) {
    svg('text', { x: width / 2, y: height / 2, 'text-anchor': 'middle', class: 'empty' }, root).textContent =
      'no data yet';
    return root;
  }
  let t0 = Math.min(...all.map((p) => p[0]));
  let t1 = Math.max(...all.map((p) => p[0]));
  if (t1 === t0) t1 = t0 + HOUR;
  let v0 = Math.min(...all.map((p) => p[1]));
  let v1 = Math.max(...all.map((p) => p[1]));
  const pad = (v1 - v0) * 0.08 || Math.abs(v1) * 0.1 || 1;
  v0 -= pad;
  v1 += pad;
  if (spec.floor != null && v0 < spec.floor) v0 = spec.floor;
  const x = (t) => m.left + ((t - t0) / (t1 - t0)) * (width - m.left - m.right);
  const y = (v) => height - m.bottom - ((v - v0) / (v1 - v0)) * (height - m.top - m.bottom);

  const grid = svg('g', { class: 'grid' }, root);
  const yTicks = niceTicks(v0, v1);
  for (const v of yTicks) {
    svg('line', { x1: m.left, x2: width - m.right, y1: y(v), y2: y(v) }, grid);
    const label = svg('text', { x: m.left - 6, y: y(v) + 4, 'text-anchor': 'end', class: 'tick' }, root);
    label.textContent = withUnit(v, spec.unit);
  }
  const { ticks, dateOnly } = timeTicks(t0, t1);
  const xAxis = svg('g', { class: 'x-axis' }, root);
  for (const t of ticks) {
    svg('line', { x1: x(t), x2: x(t), y1: m.top, y2: height - m.bottom }, grid);
    const label = svg(
      'text',
      { x: x(t), y: height - m.bottom + 16, 'text-anchor': 'middle', class: 'tick' },
      xAxis,
    );
    label.textContent = timeLabel(t, dateOnly);
  }
  svg(
    'text',
    { x: width - m.right, y: height - 6, 'text-anchor': 'end', class: 'axis-title' },
    root,
  ).textContent = 'time (UTC)';
  svg('text', { x: 4, y: 12, class: 'axis-title' }, root).textContent = spec.unit
    ? `${spec.yLabel ?? ''} (${spec.unit})`.trim()
    : (spec.yLabel ?? '');

  for (const band of bands) {
    if (band.lo.length === 0) continue;
    const upper = band.hi.map((p, i) => `${i === 0 ? 'M' : 'L'}${x(p[0]).toFixed(1)} ${y(p[1]).toFixed(1)}`);
    const lower = [...band.lo].reverse().map((p) => `L${x(p[0]).toFixed(1)} ${y(p[1]).toFixed(1)}`);
    const path = svg(
      'path',
      { d: `${upper.join('')}${lower.join('')}Z`, fill: band.color, class: 'band' },
      root,
    );
    svg('title', {}, path).textContent = band.name;
  }
  for (const line of lines) {
    let d = '';
    let pen = false;
    for (const [t, v] of line.points) {
      if (v == null) {
        pen = false;
        continue;
      }
      d += `${pen ? 'L' : 'M'}${x(t).toFixed(1)} ${y(v).toFixed(1)}`;
      pen = true;
    }
    const attrs = { d, fill: 'none', stroke: line.color, 'stroke-width': line.width ?? 2, class: 'line' };
    if (line.dash) attrs['stroke-dasharray'] = line.dash;
    const path = svg('path', attrs, root);
    path.dataset.series = line.name;
  }
  const markerGroup = svg('g', { class: 'markers' }, root);
  for (const marker of markers) {
    if (marker.t < t0 || marker.t > t1) continue;
    const g = svg('g', { class: `marker ${marker.kind}` }, markerGroup);
    svg('line', { x1: x(marker.t), x2: x(marker.t), y1: m.top - 4, y2: height - m.bottom }, g);
    const text = svg('text', { x: x(marker.t) + 3, y: m.top - 8, class: 'marker-label' }, g);
    text.textContent = marker.kind;
    svg('title', {}, g).textContent = `${marker.label} at ${timeLabel(marker.t)} UTC`;
  }
  if (spec.tooltip) attachTooltip(root, spec, { x, y, t0, t1, m, width, height, lines, bands });
  return root;
}

/** Hover: a cursor line at the nearest time with data and a tooltip listing every series there. */
function attachTooltip(root, spec, g) {
  const times = new Set();
  const lookups = [];
  for (const line of g.lines) {
    const map = new Map(line.points.filter((p) => p[1] != null));
    for (const t of map.keys()) times.add(t);
    lookups.push([line.name, map]);
  }
  for (const band of g.bands) {
    lookups.push([`${band.name} low`, new Map(band.lo)], [`${band.name} high`, new Map(band.hi)]);
    for (const p of band.lo) times.add(p[0]);
  }
  const sorted = [...times].sort((a, b) => a - b);
  const cursor = svg(
    'line',
    { class: 'cursor', y1: g.m.top, y2: g.height - g.m.bottom, visibility: 'hidden' },
    root,
  );
  const overlay = svg(
    'rect',
    {
      x: g.m.left,
      y: g.m.top,
      width: g.width - g.m.left - g.m.right,
      height: g.height - g.m.top - g.m.bottom,
      fill: 'transparent',
    },
    root,
  );
  const tip = spec.tooltip;
  const hide = () => {
    cursor.setAttribute('visibility', 'hidden');
    tip.hidden = true;
  };
  overlay.addEventListener('mouseleave', hide);
  overlay.addEventListener('mousemove', (event) => {
    const box = root.getBoundingClientRect();
    const px = ((event.clientX - box.left) / box.width) * g.width;
    const t = g.t0 + ((px - g.m.left) / (g.width - g.m.left - g.m.right)) * (g.t1 - g.t0);
    let best = sorted[0];
    for (const s of sorted) if (Math.abs(s - t) < Math.abs(best - t)) best = s;
    if (best === undefined) return hide();
    cursor.setAttribute('x1', g.x(best));
    cursor.setAttribute('x2', g.x(best));
    cursor.setAttribute('visibility', 'visible');
    const rows = [`${timeLabel(best)} UTC`];
    for (const [name, map] of lookups) {
      const v = map.get(best);
      if (v != null) rows.push(`${name}: ${withUnit(v, spec.unit)}`);
    }
    tip.replaceChildren(
      ...rows.map((text) => {
        const div = document.createElement('div');
        div.textContent = text;
        return div;
      }),
    );
    tip.hidden = false;
    tip.style.left = `${event.pageX + 12}px`;
    tip.style.top = `${event.pageY + 12}px`;
  });
}
