import { readFile } from 'node:fs/promises';
import type { z } from 'zod';
import { InputError, getErrorMessage } from './errors.js';

/** Reads and validates a JSON file; errors name the file and every bad field. */
export async function readJsonFile<S extends z.ZodType>(path: string, schema: S): Promise<z.infer<S>> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new InputError(`${path}: cannot read: ${getErrorMessage(error)}`, { cause: error });
  }
  return parseJsonText(text, path, schema);
}

export function parseJsonText<S extends z.ZodType>(text: string, where: string, schema: S): z.infer<S> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new InputError(`${where}: invalid JSON: ${getErrorMessage(error)}`, { cause: error });
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new InputError(describeZodError(where, parsed.error));
  return parsed.data;
}

/** Formats a zod error as `file: field.path: message` lines, naming every bad field. */
export function describeZodError(where: string, error: z.ZodError): string {
  return error.issues
    .map((issue) => `${where}: ${issue.path.length ? issue.path.join('.') : '(root)'}: ${issue.message}`)
    .join('\n');
}
