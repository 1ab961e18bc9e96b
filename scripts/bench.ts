// `npm run bench -- <name> [args]`: runs bench/<name>.ts, which prints its results (and --json).
import { readdirSync } from 'node:fs';

const [name, ...args] = process.argv.slice(2);
const available = readdirSync(new URL('../bench/', import.meta.url))
  .filter((f) => f.endsWith('.ts'))
  .map((f) => f.replace(/\.ts$/, ''))
  .sort();
if (!name || !available.includes(name)) {
  process.stderr.write(`usage: npm run bench -- <${available.join('|')}> [options]\n`);
  process.exit(2);
}
const bench = (await import(`../bench/${name}.ts`)) as { run(args: string[]): Promise<void> };
await bench.run(args);
