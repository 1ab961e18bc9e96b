import { isAbsolute, relative, resolve } from 'node:path';
import * as core from '@actions/core';
import { z } from 'zod';
import { getErrorMessage, InputError } from '../../core/errors.js';
import { isRemote } from '../../core/remote-path.js';

/**
 * Reads every named input once (`INPUT_<NAME>` as the runner sets them), trimmed; empty strings
 * become undefined so zod defaults apply. Secret inputs are masked before anything can log them.
 */
export function readInputs<const N extends string>(
  names: readonly N[],
  secrets: readonly N[] = [],
): Record<N, string | undefined> {
  const out = {} as Record<N, string | undefined>;
  for (const name of names) {
    const value = core.getInput(name);
    if (secrets.includes(name) && value !== '') core.setSecret(value);
    out[name] = value === '' ? undefined : value;
  }
  return out;
}

/** Validates raw inputs with `schema`; an error names every bad input. */
export function parseSettings<T>(
  schema: z.ZodType<T>,
  raw: Record<string, string | undefined>,
  secrets: readonly string[] = [],
): T {
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const lines = parsed.error.issues.map(
      (issue) => `input ${issue.path.join('.') || '(root)'}: ${issue.message}`,
    );
    throw new InputError(`invalid action inputs:\n${lines.join('\n')}`);
  }
  for (const [key, value] of Object.entries(parsed.data as Record<string, unknown>)) {
    const shown = value !== undefined && secrets.includes(key) ? '***' : JSON.stringify(value);
    core.debug(`${key} = ${shown ?? 'undefined'}`);
  }
  return parsed.data;
}

/** `true`/`false` as the runner passes booleans (YAML 1.2 core schema, like core.getBooleanInput). */
export const BooleanInput = z
  .enum(['true', 'True', 'TRUE', 'false', 'False', 'FALSE'])
  .transform((v) => v.toLowerCase() === 'true');

export const PositiveNumberInput = z.coerce.number().positive().finite();

/** The runner's workspace: where checkout put the repository; every path input must stay inside it. */
export function workspaceDir(env: NodeJS.ProcessEnv = process.env): string {
  return resolve(env.GITHUB_WORKSPACE ?? process.cwd());
}

/** Resolves `path` against the workspace and refuses anything that escapes it. */
export function insideWorkspace(workspace: string, path: string, input: string): string {
  const full = resolve(workspace, path);
  const rel = relative(workspace, full);
  if (rel.startsWith('..') || isAbsolute(rel)) {
    throw new InputError(`input ${input}: ${JSON.stringify(path)} is outside the workspace ${workspace}`);
  }
  return full;
}

/** A zod string that must be a path inside the workspace (resolved to an absolute path). */
export function workspacePath(workspace: string, input: string) {
  return z.string().transform((path, ctx) => {
    try {
      return insideWorkspace(workspace, path, input);
    } catch (error) {
      ctx.addIssue({ code: 'custom', message: (error as Error).message.replace(/^input \S+: /, '') });
      return z.NEVER;
    }
  });
}

/** A metrics source input: a path inside the workspace, optionally `#table` for a DuckDB file. */
export function workspaceMetrics(workspace: string, input = 'metrics') {
  return z.string().transform((spec, ctx) => {
    // A remote source (s3://, https://, prometheus+http://…) is read through its own sandbox
    // (docs/metrics.md); only a Prometheus mapping file named in it must be in the workspace.
    if (isRemote(spec)) {
      const mapping = /#mapping=(.+)$/.exec(spec);
      if (mapping === null) return spec;
      try {
        return `${spec.slice(0, mapping.index)}#mapping=${insideWorkspace(workspace, mapping[1]!, `${input} mapping`)}`;
      } catch (error) {
        ctx.addIssue({ code: 'custom', message: getErrorMessage(error) });
        return z.NEVER;
      }
    }
    const hash = spec.lastIndexOf('#');
    const [path, table] = hash > 0 ? [spec.slice(0, hash), spec.slice(hash)] : [spec, ''];
    try {
      return `${insideWorkspace(workspace, path, input)}${table}`;
    } catch (error) {
      ctx.addIssue({ code: 'custom', message: getErrorMessage(error) });
      return z.NEVER;
    }
  });
}
