/** Why a server got no forecast from the serving model (besides having no recent metrics). */
export const FAILURE_REASONS = ['invalid_window', 'non_finite_output', 'output_shape'] as const;
export type FailureReason = (typeof FAILURE_REASONS)[number];

export interface ServerFailure {
  server: string;
  reason: FailureReason;
  message: string;
  /** When the server's latest forecast failed (ISO 8601). */
  at: string;
}

/**
 * The servers whose latest forecast failed, with why: a server is listed from its first failed
 * forecast until its next good one, or until the model changes. /status and /health report them,
 * the dashboard shows them, and `fleetcast_servers_without_forecast{reason}` counts them.
 */
export class ForecastFailures {
  private readonly byServer = new Map<string, ServerFailure>();

  constructor(private readonly now: () => Date) {}

  fail(failure: { server: string; reason: FailureReason; message: string }): void {
    this.byServer.set(failure.server, {
      server: failure.server,
      reason: failure.reason,
      message: failure.message,
      at: this.now().toISOString(),
    });
  }

  /** Records one failure reason for many servers (a whole batch whose output was unusable). */
  failAll(servers: readonly string[], reason: FailureReason, message: string): void {
    for (const server of servers) this.fail({ server, reason, message });
  }

  succeed(server: string): void {
    this.byServer.delete(server);
  }

  reset(): void {
    this.byServer.clear();
  }

  get size(): number {
    return this.byServer.size;
  }

  /** Sorted by server name. */
  list(): ServerFailure[] {
    return [...this.byServer.values()].sort((a, b) =>
      a.server < b.server ? -1 : a.server > b.server ? 1 : 0,
    );
  }

  countByReason(): Map<FailureReason, number> {
    const counts = new Map<FailureReason, number>(FAILURE_REASONS.map((r) => [r, 0]));
    for (const f of this.byServer.values()) counts.set(f.reason, (counts.get(f.reason) ?? 0) + 1);
    return counts;
  }
}
