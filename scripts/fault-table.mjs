#!/usr/bin/env node
// Turns the spec-reporter output of `npm run faults` (stdin) into the Markdown table of
// docs/reliability.md: one row per case, "group | fault → trustworthy outcome", with its result.
//   npm run faults 2>&1 | node scripts/fault-table.mjs > /tmp/table.md
import { readFileSync } from 'node:fs';

const rows = [];
for (const line of readFileSync(0, 'utf8').split('\n')) {
  const m = /^ {2}([✔✖﹣]) (.+?) \| (.+?)(?: \(\d[\d.]*m?s\))?(?: # TODO.*)?$/.exec(line);
  if (!m) continue;
  const [, mark, group, rest] = m;
  const [fault, outcome = ''] = rest.split(' → ');
  const result = mark === '✔' ? 'pass' : mark === '✖' ? '**FAIL**' : 'todo (open)';
  rows.push({ group, fault, outcome, result });
}
const counts = new Map();
for (const r of rows) counts.set(r.group, (counts.get(r.group) ?? 0) + 1);
const cell = (s) => s.replaceAll('|', '\\|');
const out = [
  `| group | cases |`,
  `|---|---|`,
  ...[...counts].map(([g, n]) => `| ${g} | ${n} |`),
  `| **total** | **${rows.length}** |`,
  '',
  `| # | group | fault | trustworthy outcome asserted | result |`,
  `|---|---|---|---|---|`,
  ...rows.map((r, i) => `| ${i + 1} | ${r.group} | ${cell(r.fault)} | ${cell(r.outcome)} | ${r.result} |`),
];
process.stdout.write(`${out.join('\n')}\n`);
