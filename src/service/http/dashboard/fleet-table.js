/* global document, window */
// The fleet table: one row per server from GET /dashboard/fleet, sortable by any column,
// searchable by name, and virtualised (only the rows in view exist in the DOM), so 10,000 servers
// cost what 30 do. Server names reach the page through textContent and attributes only.
import { sparkPath, svg, timeLabel, withUnit } from './charts.js';

export const ROW_HEIGHT = 32;
const OVERSCAN = 8;
// column indexes of a row (dashboard-data.ts FLEET_COLUMNS)
const C = {
  server: 0,
  profile: 1,
  known: 2,
  inManifest: 3,
  pending: 4,
  stale: 5,
  dataTime: 6,
  qRisk: 7,
  forecast: 8,
  reason: 9,
};

export function ageText(seconds) {
  if (seconds == null || !Number.isFinite(seconds)) return '–';
  if (seconds < 0) return '0 min';
  if (seconds < 3600) return `${Math.round(seconds / 60)} min`;
  if (seconds < 86400 * 2) return `${(seconds / 3600).toFixed(1)} h`;
  return `${(seconds / 86400).toFixed(1)} d`;
}

/** Sort keys per column: numbers (nulls last in either direction) or names. */
const SORTS = {
  server: null,
  profile: (doc, row) => (row[C.profile] == null ? null : doc.profiles[row[C.profile]]),
  known: (_doc, row) => row[C.known] * 2 + row[C.inManifest],
  age: (_doc, row) => (row[C.dataTime] == null ? null : -row[C.dataTime]),
  qrisk: (_doc, row) => row[C.qRisk],
  forecast: (_doc, row) => (row[C.forecast] ? Math.max(...row[C.forecast]) : null),
};

export class FleetTable {
  /**
   * @param {HTMLElement} scroller the scrolling container of the table
   * @param {HTMLTableElement} table
   * @param {{onCount(shown: number, total: number): void}} hooks
   */
  constructor(scroller, table, hooks) {
    this.scroller = scroller;
    this.table = table;
    this.body = table.tBodies[0];
    this.hooks = hooks;
    this.doc = null;
    this.names = [];
    this.order = new Int32Array(0);
    this.query = '';
    this.sortKey = 'server';
    this.sortDir = 1;
    this.rowPool = [];
    this.top = document.createElement('tr');
    this.top.className = 'spacer';
    this.top.setAttribute('aria-hidden', 'true');
    this.bottom = this.top.cloneNode();
    this.body.replaceChildren(this.top, this.bottom);
    this.scheduled = false;
    scroller.addEventListener('scroll', () => this.schedule(), { passive: true });
    window.addEventListener('resize', () => this.schedule());
    for (const th of table.tHead.rows[0].cells) {
      const button = th.querySelector('button');
      if (button) button.addEventListener('click', () => this.sortBy(th.dataset.key));
    }
  }

  /** New data (a refresh keeps the search, the sort and the scroll position). */
  setData(doc) {
    this.doc = doc;
    this.names = doc.rows.map((r) => r[C.server].toLowerCase());
    let lo = Infinity;
    let hi = -Infinity;
    for (const row of doc.rows) {
      const values = row[C.forecast];
      if (!values) continue;
      for (const v of values) {
        if (v < lo) lo = v;
        if (v > hi) hi = v;
      }
    }
    this.range = [lo, hi];
    this.unit = (doc.targets.find((t) => t.name === doc.target) || { unit: '' }).unit;
    this.now = Date.parse(doc.generated_at) / 1000;
    this.refilter();
  }

  search(text) {
    this.query = text.trim().toLowerCase();
    this.refilter();
  }

  sortBy(key) {
    if (this.sortKey === key) this.sortDir = -this.sortDir;
    else {
      this.sortKey = key;
      this.sortDir = 1;
    }
    this.refilter();
  }

  refilter() {
    if (!this.doc) return;
    const rows = this.doc.rows;
    const q = this.query;
    const picked = [];
    for (let i = 0; i < rows.length; i++) if (q === '' || this.names[i].includes(q)) picked.push(i);
    const dir = this.sortDir;
    const keyOf = SORTS[this.sortKey];
    if (keyOf === null || keyOf === undefined) {
      picked.sort(
        (a, b) =>
          dir * (rows[a][C.server] < rows[b][C.server] ? -1 : rows[a][C.server] > rows[b][C.server] ? 1 : 0),
      );
    } else {
      const keys = new Map(picked.map((i) => [i, keyOf(this.doc, rows[i])]));
      picked.sort((a, b) => {
        const ka = keys.get(a);
        const kb = keys.get(b);
        if (ka !== kb) {
          if (ka == null) return 1;
          if (kb == null) return -1;
          const c = ka < kb ? -1 : 1;
          return dir * c;
        }
        return rows[a][C.server] < rows[b][C.server] ? -1 : 1;
      });
    }
    this.order = Int32Array.from(picked);
    for (const th of this.table.tHead.rows[0].cells) {
      if (th.dataset.key === this.sortKey)
        th.setAttribute('aria-sort', dir === 1 ? 'ascending' : 'descending');
      else th.removeAttribute('aria-sort');
    }
    this.table.setAttribute('aria-rowcount', String(this.order.length + 1));
    this.hooks.onCount(this.order.length, rows.length);
    this.render();
  }

  schedule() {
    if (this.scheduled) return;
    this.scheduled = true;
    window.requestAnimationFrame(() => {
      this.scheduled = false;
      this.render();
    });
  }

  /** Puts the rows in view (and a few around them) into the table; spacers keep the scroll height. */
  render() {
    if (!this.doc) return;
    const total = this.order.length;
    const headerHeight = this.table.tHead.offsetHeight;
    const scrollTop = Math.max(0, this.scroller.scrollTop - headerHeight);
    const visible = Math.ceil((this.scroller.clientHeight || 600) / ROW_HEIGHT);
    const first = Math.max(0, Math.floor(scrollTop / ROW_HEIGHT) - OVERSCAN);
    const last = Math.min(total, first + visible + 2 * OVERSCAN);
    while (this.rowPool.length < last - first) this.rowPool.push(this.makeRow());
    const used = [];
    for (let i = first; i < last; i++) {
      const tr = this.rowPool[i - first];
      this.fill(tr, this.order[i], i);
      used.push(tr);
    }
    this.top.style.height = `${first * ROW_HEIGHT}px`;
    this.bottom.style.height = `${(total - last) * ROW_HEIGHT}px`;
    this.body.replaceChildren(this.top, ...used, this.bottom);
  }

  makeRow() {
    const tr = document.createElement('tr');
    tr.className = 'row';
    const cells = {};
    for (const name of ['server', 'profile', 'known', 'age', 'qrisk', 'forecast']) {
      const td = document.createElement(name === 'server' ? 'th' : 'td');
      if (name === 'server') td.setAttribute('scope', 'row');
      td.className = `col-${name}`;
      tr.append(td);
      cells[name] = td;
    }
    const link = document.createElement('a');
    cells.server.append(link);
    const spark = svg('svg', { width: 120, height: 22, viewBox: '0 0 120 22', role: 'img', class: 'spark' });
    const title = svg('title', {}, spark);
    const path = svg('path', {}, spark);
    const reason = document.createElement('span');
    reason.className = 'reason';
    cells.forecast.append(spark, reason);
    tr._parts = { cells, link, spark, title, path, reason };
    return tr;
  }

  fill(tr, index, position) {
    const doc = this.doc;
    const row = doc.rows[index];
    const p = tr._parts;
    const name = row[C.server];
    tr.setAttribute('aria-rowindex', String(position + 2));
    tr.dataset.server = name;
    tr.dataset.known = row[C.known] ? 'true' : 'false';
    tr.className = ['row', row[C.stale] ? 'stale' : '', row[C.forecast] ? '' : 'failed']
      .filter(Boolean)
      .join(' ');
    p.link.textContent = name;
    p.link.setAttribute('href', `#server=${encodeURIComponent(name)}`);
    p.cells.profile.textContent = row[C.profile] == null ? '–' : doc.profiles[row[C.profile]];
    const flags = [row[C.known] ? 'known' : 'unknown'];
    if (!row[C.inManifest]) flags.push('not in manifest');
    if (row[C.pending]) flags.push('pending');
    p.cells.known.textContent = flags.join(', ');
    p.cells.known.className = `col-known ${row[C.known] ? 'is-known' : 'is-unknown'}`;
    const dataTime = row[C.dataTime];
    const age = ageText(dataTime == null ? null : this.now - dataTime);
    p.cells.age.textContent = row[C.stale] ? `${age} (stale)` : age;
    p.cells.age.title = dataTime == null ? 'no recent metrics' : `data until ${timeLabel(dataTime)} UTC`;
    p.cells.qrisk.textContent = row[C.qRisk] == null ? '–' : row[C.qRisk].toFixed(3);
    const values = row[C.forecast];
    if (values) {
      p.spark.removeAttribute('display');
      p.path.setAttribute('d', sparkPath(values, this.range[0], this.range[1]));
      const label = `${doc.quantile.toUpperCase()} ${doc.target} over the next ${ageText(values.length * doc.step_seconds)}: ${withUnit(values[0], this.unit)} to ${withUnit(values[values.length - 1], this.unit)}, peak ${withUnit(Math.max(...values), this.unit)}`;
      p.spark.setAttribute('aria-label', label);
      p.title.textContent = label;
      p.reason.textContent = '';
    } else {
      p.spark.setAttribute('display', 'none');
      p.spark.removeAttribute('aria-label');
      p.reason.textContent = row[C.reason] || 'no forecast';
    }
  }
}
