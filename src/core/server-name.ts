import { InputError } from './errors.js';

/**
 * Server names come from metrics and are untrusted. They end up in SQL, file paths, git branch
 * names, Markdown and HTML, so only a conservative hostname-like alphabet is accepted:
 * a letter or digit first, then letters, digits, '.', '_' or '-', at most 128 characters,
 * no '..' and no '.lock' suffix (both are invalid in git refs).
 */
export const SERVER_NAME_MAX_LENGTH = 128;
export const SERVER_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** Returns why `name` is not a valid server name, or undefined when it is. */
export function serverNameProblem(name: unknown): string | undefined {
  if (typeof name !== 'string') return `server name must be a string, got ${typeof name}`;
  if (name.length === 0) return 'server name is empty';
  if (name.length > SERVER_NAME_MAX_LENGTH) {
    return `server name is ${name.length} characters long (at most ${SERVER_NAME_MAX_LENGTH})`;
  }
  if (!SERVER_NAME_PATTERN.test(name)) {
    const bad = [...name].find((ch, i) => !(i === 0 ? /[A-Za-z0-9]/ : /[A-Za-z0-9._-]/).test(ch)) ?? '';
    return `server name contains ${describeChar(bad)}; allowed: letters, digits, '.', '_', '-' (starting with a letter or digit)`;
  }
  if (name.includes('..')) return "server name contains '..'";
  if (name.toLowerCase().endsWith('.lock')) return "server name ends with '.lock'";
  return undefined;
}

export function isValidServerName(name: unknown): name is string {
  return serverNameProblem(name) === undefined;
}

/** Throws an InputError naming where the bad name came from (file, row, field). */
export function assertServerName(name: unknown, where: string): string {
  const problem = serverNameProblem(name);
  if (problem !== undefined)
    throw new InputError(`${where}: invalid server name ${preview(name)}: ${problem}`);
  return name as string;
}

/** A printable, bounded rendering of an untrusted value for error messages. */
export function preview(value: unknown, max = 40): string {
  const text = typeof value === 'string' ? value : String(value);
  const cut = text.length > max ? `${text.slice(0, max)}…` : text;
  return JSON.stringify(cut);
}

function describeChar(ch: string): string {
  const code = ch.codePointAt(0) ?? 0;
  if (code < 0x20 || code === 0x7f)
    return `a control character (U+${code.toString(16).padStart(4, '0').toUpperCase()})`;
  if (ch === '/' || ch === '\\') return `a path separator ${JSON.stringify(ch)}`;
  if (ch === ' ') return 'a space';
  return JSON.stringify(ch);
}

/** Byte order (not locale order), so every machine sorts server names the same way. */
export function compareNames(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
