/**
 * Messages the service answers without authentication (/health, /readyz, 503 bodies) come from
 * errors that name files: model directories, the metrics source, the git clone. The logs keep them
 * whole for the operator; answers show where inside the registry a problem is (`<registry>/models/…`)
 * and only the last part of any other absolute path (`…/metrics.parquet`), never the layout of
 * the host.
 */

/** An absolute POSIX path: a '/' at the start or after a space, quote, bracket, '=', ',' or ':'. */
const ABSOLUTE_PATH = /(^|[\s"'`([{=,:])\/(?:[^\s"'`()[\]{},:;]+\/)*([^\s"'`()[\]{},:;/]*)/g;

/**
 * `text` with each `roots` path replaced by its label (longest first), then every other absolute
 * path cut to `…/<last part>`. URLs (`scheme://host/path`) are left alone.
 */
export function redactPaths(text: string, roots: ReadonlyArray<readonly [string, string]> = []): string {
  let out = text;
  const sorted = [...roots].filter(([path]) => path.length > 1).sort((a, b) => b[0].length - a[0].length);
  for (const [path, label] of sorted) out = out.split(path.replace(/\/+$/, '')).join(label);
  return out.replace(ABSOLUTE_PATH, (match: string, before: string, last: string, offset: number) => {
    // "scheme://host/…": the path of a URL, not of this machine
    if (before === ':' && out.startsWith('//', offset + 1)) return match;
    return `${before}…/${last}`;
  });
}
