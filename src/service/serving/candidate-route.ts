import { createHash } from 'node:crypto';

/**
 * Which servers an A/B candidate serves (docs/candidate.md): a server's bucket is the first 8 hex
 * digits of sha256(server name) read as a number in [0, 1); the candidate serves it when the
 * bucket is below the share. So a server always gets the same model while the share is unchanged,
 * every replica of the service agrees without talking to the others, and raising the share only
 * moves servers from the serving model to the candidate (never back).
 */
export function serverBucket(server: string): number {
  return Number.parseInt(createHash('sha256').update(server, 'utf8').digest('hex').slice(0, 8), 16) / 2 ** 32;
}

export function servedByCandidate(server: string, share: number): boolean {
  return serverBucket(server) < share;
}

/** The decision per server, cached: a fleet forecast asks for every server every cycle. */
export class CandidateRoute {
  private readonly cache = new Map<string, boolean>();
  constructor(readonly share: number) {}

  serves(server: string): boolean {
    let served = this.cache.get(server);
    if (served === undefined) {
      served = servedByCandidate(server, this.share);
      if (this.cache.size < 100_000) this.cache.set(server, served);
    }
    return served;
  }
}
