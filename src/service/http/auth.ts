import { createHash, timingSafeEqual } from 'node:crypto';

/** Admin tokens shorter than this are refused at startup (guessable). */
export const MIN_ADMIN_TOKEN_LENGTH = 16;

function digest(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

/**
 * True when `authorization` is `Bearer <token>`. Both sides are hashed first so the comparison
 * takes the same time whatever the length or content of the guess (timingSafeEqual needs
 * equal-length inputs, and comparing raw lengths would leak the token's length).
 */
export function bearerMatches(authorization: string | undefined, token: string): boolean {
  const match = /^Bearer[ ]+(\S+)\s*$/i.exec(authorization ?? '');
  const presented = match?.[1] ?? '';
  const equal = timingSafeEqual(digest(presented), digest(token));
  return equal && match !== null;
}
