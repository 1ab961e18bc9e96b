import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { writeJsonAtomic } from '../core/atomic-write.js';
import { ForgeError } from './errors.js';
import type { CommitStatus, DeploymentStatus, NewDeployment } from './types.js';

const StatusRecord = z.object({
  sha: z.string(),
  context: z.string(),
  state: z.enum(['pending', 'success', 'failure', 'error']),
  description: z.string(),
  target_url: z.string().optional(),
  created_at: z.string(),
});

const DeploymentRecord = z.object({
  id: z.number().int().positive(),
  sha: z.string(),
  environment: z.string(),
  description: z.string(),
  created_at: z.string(),
  statuses: z.array(
    z.object({
      state: z.enum(['in_progress', 'success', 'failure', 'error', 'inactive']),
      description: z.string(),
      environment_url: z.string().optional(),
      log_url: z.string().optional(),
      created_at: z.string(),
    }),
  ),
});

const ReportsFile = z.object({
  statuses: z.array(StatusRecord),
  deployments: z.array(DeploymentRecord),
});
export type LocalReports = z.infer<typeof ReportsFile>;

/**
 * Commit statuses and deployments of the local forge, in one JSON file (`<dir>/reports.json`,
 * written atomically) that tests read to assert what verify reported, oldest first.
 */
export class LocalReportStore {
  constructor(
    private readonly dir: string,
    private readonly now: () => Date,
  ) {}

  get path(): string {
    return join(this.dir, 'reports.json');
  }

  async read(): Promise<LocalReports> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch {
      return { statuses: [], deployments: [] };
    }
    const parsed = ReportsFile.safeParse(JSON.parse(text));
    if (!parsed.success)
      throw new ForgeError('read commit statuses and deployments', `${this.path} is malformed`);
    return parsed.data;
  }

  async setCommitStatus(sha: string, status: CommitStatus): Promise<void> {
    const reports = await this.read();
    reports.statuses.push({
      sha,
      context: status.context,
      state: status.state,
      description: status.description,
      ...(status.targetUrl === undefined ? {} : { target_url: status.targetUrl }),
      created_at: this.now().toISOString(),
    });
    await writeJsonAtomic(this.path, reports);
  }

  async commitStatus(sha: string, context: string): Promise<CommitStatus | undefined> {
    const latest = (await this.read()).statuses.filter((s) => s.sha === sha && s.context === context).at(-1);
    if (latest === undefined) return undefined;
    return {
      context,
      state: latest.state,
      description: latest.description,
      ...(latest.target_url === undefined ? {} : { targetUrl: latest.target_url }),
    };
  }

  async createDeployment(input: NewDeployment): Promise<number> {
    const reports = await this.read();
    const id = (reports.deployments.at(-1)?.id ?? 0) + 1;
    reports.deployments.push({ id, ...input, created_at: this.now().toISOString(), statuses: [] });
    await writeJsonAtomic(this.path, reports);
    return id;
  }

  async setDeploymentStatus(id: number, status: DeploymentStatus): Promise<void> {
    const reports = await this.read();
    const deployment = reports.deployments.find((d) => d.id === id);
    if (deployment === undefined)
      throw new ForgeError(`set deployment ${id} ${status.state}`, 'no such deployment', { status: 404 });
    deployment.statuses.push({
      state: status.state,
      description: status.description,
      ...(status.environmentUrl === undefined ? {} : { environment_url: status.environmentUrl }),
      ...(status.logUrl === undefined ? {} : { log_url: status.logUrl }),
      created_at: this.now().toISOString(),
    });
    await writeJsonAtomic(this.path, reports);
  }
}
