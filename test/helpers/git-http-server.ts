import { spawn } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { gitOut } from './git-fixture.js';

/**
 * A smart-HTTP git remote for tests: git http-backend (CGI) behind a local server that demands
 * Basic auth with a GitHub-style token, so a test can see that a token travels as a header (and
 * only as one) and that a request without it is refused.
 */

export const TOKEN = 'ghs_fake0token0for0tests0only';
export const AUTH = `Basic ${Buffer.from(`x-access-token:${TOKEN}`).toString('base64')}`;

/**
 * git http-backend as CGI; every request must carry AUTH, once (else 401). Records the
 * Authorization headers of each request, joined with ", " (two headers read "A, B").
 */
export function gitHttpServer(projectRoot: string, seen: Array<string | undefined>): Server {
  return createServer((req: IncomingMessage, res: ServerResponse) => {
    // rawHeaders: Node keeps only the first of two Authorization headers in req.headers
    const auth = req.rawHeaders.filter((_, i) => i % 2 === 0 && /^authorization$/i.test(req.rawHeaders[i]!));
    const values = req.rawHeaders.filter(
      (_, i) => i % 2 === 1 && auth.length > 0 && /^authorization$/i.test(req.rawHeaders[i - 1]!),
    );
    const header = values.length === 0 ? undefined : values.join(', ');
    seen.push(header);
    if (header !== AUTH) {
      res.writeHead(401, { 'WWW-Authenticate': 'Basic realm="test"' });
      res.end();
      return;
    }
    const url = new URL(req.url ?? '/', 'http://localhost');
    const child = spawn('git', ['http-backend'], {
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        GIT_PROJECT_ROOT: projectRoot,
        GIT_HTTP_EXPORT_ALL: '1',
        PATH_INFO: url.pathname,
        QUERY_STRING: url.search.slice(1),
        REQUEST_METHOD: req.method ?? 'GET',
        CONTENT_TYPE: req.headers['content-type'] ?? '',
        HTTP_CONTENT_ENCODING: String(req.headers['content-encoding'] ?? ''),
        HTTP_GIT_PROTOCOL: String(req.headers['git-protocol'] ?? ''),
        REMOTE_USER: 'x-access-token',
        REMOTE_ADDR: '127.0.0.1',
      },
    });
    req.pipe(child.stdin);
    const out: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.on('close', () => {
      const all = Buffer.concat(out);
      const split = all.indexOf('\r\n\r\n');
      const head = all.subarray(0, split).toString('latin1');
      let status = 200;
      const headers: Record<string, string> = {};
      for (const line of head.split('\r\n')) {
        const colon = line.indexOf(':');
        const name = line.slice(0, colon).trim();
        const value = line.slice(colon + 1).trim();
        if (name.toLowerCase() === 'status') status = Number(value.split(' ')[0]);
        else headers[name] = value;
      }
      res.writeHead(status, headers);
      res.end(all.subarray(split + 4));
    });
  });
}

export interface GitHttpRemote {
  /** The directory holding the bare repositories. */
  projects: string;
  /** host:port of the server. */
  base: string;
  /** A clone of the first repository with its first commit (README.md "one\n"). */
  work: string;
  /** The Authorization headers of each request so far (gitHttpServer). */
  seen: Array<string | undefined>;
  close(): Promise<void>;
}

/**
 * Bare repositories `names` under `root`/srv, each holding one commit (README.md "one\n", made in
 * `root`/work, a clone of the first), served by gitHttpServer on 127.0.0.1.
 */
export async function startGitHttpRemote(root: string, names: string[]): Promise<GitHttpRemote> {
  const projects = join(root, 'srv');
  await mkdir(projects);
  for (const name of names) await gitOut(projects, 'init', '--bare', name);
  const work = join(root, 'work');
  await gitOut(root, 'clone', join(projects, names[0]!), work);
  await writeFile(join(work, 'README.md'), 'one\n');
  await gitOut(work, 'add', '-A');
  await gitOut(work, 'commit', '-m', 'one');
  for (const name of names) await gitOut(work, 'push', join(projects, name), 'HEAD:main');
  const seen: Array<string | undefined> = [];
  const server = gitHttpServer(projects, seen);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  const close = () => new Promise<void>((resolve) => server.close(() => resolve()));
  return { projects, base, work, seen, close };
}
