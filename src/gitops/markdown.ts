/** Markdown helpers for text that comes from outside (server names, reasons, model ids). */

const SPECIAL = /[\\`*_{}[\]()#+\-.!|<>~&@:]/g;

/**
 * Escapes every character GitHub-flavoured Markdown could read as syntax, including `|` (table
 * cells), `<` `>` `&` (HTML), and `@` / `:` (mentions, emoji shortcodes), so the text shows literally.
 */
export function escapeMarkdown(text: string): string {
  return text.replace(/[\r\n]+/g, ' ').replace(SPECIAL, (ch) => `\\${ch}`);
}

/** Inverse of escapeMarkdown for text that escapeMarkdown produced. */
export function unescapeMarkdown(text: string): string {
  return text.replace(/\\([\\`*_{}[\]()#+\-.!|<>~&@:])/g, '$1');
}

/** Thousands separators, stable across locales. */
export function formatCount(n: number): string {
  return String(Math.trunc(n)).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

export function formatPct(value: number | null | undefined, digits = 1): string {
  return value === null || value === undefined || !Number.isFinite(value)
    ? 'n/a'
    : `${value.toFixed(digits)} %`;
}
