import { stat } from 'node:fs/promises';

/** Whether anything exists at `path` (file, directory, or other). */
export async function pathExists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}
