import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { describe, it } from 'node:test';
import { parseAllDocuments } from 'yaml';
import type { Command } from 'commander';
import { buildProgram } from '../../src/cli/main.js';
import { DEFAULT_DRAIN_TIMEOUT_MS } from '../../src/service/http/server.js';

// Checks the example manifests for the fields that matter in production, and that every
// `fleetcast` command line in them parses against the real CLI, so they cannot drift apart.

type Obj = Record<string, unknown>;
const dir = new URL('../../deploy/kubernetes/', import.meta.url);
const docs: Obj[] = readdirSync(dir)
  .filter((f) => f.endsWith('.yaml'))
  .flatMap((f) =>
    parseAllDocuments(readFileSync(new URL(f, dir), 'utf8')).map((d) => {
      assert.deepEqual(d.errors, [], `${f} parses`);
      return d.toJS() as Obj;
    }),
  );

function find(kind: string, name: string): Obj {
  const doc = docs.find((d) => d.kind === kind && (d.metadata as Obj).name === name);
  assert.ok(doc, `${kind}/${name} exists`);
  return doc;
}
const at = (o: unknown, path: string): unknown =>
  path.split('.').reduce<unknown>((v, k) => (v === undefined || v === null ? undefined : (v as Obj)[k]), o);

function podSpec(workload: Obj): Obj {
  return (at(workload, 'spec.template.spec') ?? at(workload, 'spec.jobTemplate.spec.template.spec')) as Obj;
}

function containers(workload: Obj): Obj[] {
  return podSpec(workload).containers as Obj[];
}

function allContainers(workload: Obj): Obj[] {
  return [...((podSpec(workload).initContainers as Obj[] | undefined) ?? []), ...containers(workload)];
}

/** Parses a container's args against the real CLI (commander) with $(VAR) references resolved. */
function assertCliArgs(container: Obj): Command {
  const env = new Map((container.env as Obj[]).map((e) => [e.name as string, e]));
  const args = (container.args as string[]).map((arg) =>
    arg.replace(/\$\(([A-Z_]+)\)/g, (_, name: string) => {
      assert.ok(env.has(name), `$(${name}) is defined in env`);
      return 'x';
    }),
  );
  const program = buildProgram();
  const command = program.commands.find((c) => c.name() === args[0]);
  assert.ok(command, `fleetcast ${args[0]} exists`);
  const known = new Set(command.options.flatMap((o) => [o.long, o.short].filter(Boolean)));
  for (const arg of args.slice(1)) {
    if (!arg.startsWith('-')) continue;
    const flag = arg.split('=')[0]!;
    assert.ok(known.has(flag), `fleetcast ${args[0]} accepts ${flag}`);
  }
  return command;
}

function assertHardened(workload: Obj): void {
  const pod = podSpec(workload);
  assert.equal(at(pod, 'securityContext.runAsNonRoot'), true);
  assert.equal(pod.automountServiceAccountToken, false);
  for (const c of allContainers(workload)) {
    assert.equal(at(c, 'securityContext.allowPrivilegeEscalation'), false);
    assert.equal(at(c, 'securityContext.readOnlyRootFilesystem'), true);
    assert.deepEqual(at(c, 'securityContext.capabilities.drop'), ['ALL']);
    assert.ok(at(c, 'resources.limits.memory'), 'memory limit');
    const volumes = new Set((pod.volumes as Obj[]).map((v) => v.name));
    for (const m of (c.volumeMounts as Obj[]) ?? [])
      assert.ok(volumes.has(m.name), `volume ${String(m.name)} exists`);
    for (const e of (c.env as Obj[]) ?? []) {
      const ref = at(e, 'valueFrom.configMapKeyRef') as Obj | undefined;
      if (ref) {
        const map = find('ConfigMap', ref.name as string);
        assert.ok((ref.key as string) in (map.data as Obj), `ConfigMap key ${String(ref.key)} exists`);
      }
      assert.ok(
        !/token|webhook|secret/i.test(String(e.value ?? '')),
        `${String(e.name)} holds no literal secret`,
      );
    }
  }
}

describe('Kubernetes manifests', () => {
  it('every document names its apiVersion, kind and name', () => {
    assert.ok(docs.length >= 5);
    for (const d of docs) {
      assert.ok(d.apiVersion && d.kind && at(d, 'metadata.name'), JSON.stringify(d).slice(0, 80));
    }
  });

  it('the inference Deployment follows the GitOps repository and its manifest, live on /livez, ready on /readyz', () => {
    const deployment = find('Deployment', 'fleetcast-inference');
    assert.deepEqual(
      at(deployment, 'spec.selector.matchLabels'),
      at(deployment, 'spec.template.metadata.labels'),
    );
    assert.equal(at(deployment, 'spec.strategy.rollingUpdate.maxUnavailable'), 0);
    const [container] = containers(deployment);
    const command = assertCliArgs(container!);
    assert.equal(command.name(), 'serve');
    const args = container!.args as string[];
    // without --manifest the service would count pending servers as expected
    for (const flag of ['--git', '--branch', '--interval', '--metrics', '--host', '--manifest']) {
      assert.ok(
        args.some((a) => a.startsWith(`${flag}=`)),
        `serve ${flag}`,
      );
    }
    assert.ok(args.includes('--host=0.0.0.0'), 'listens on the pod IP, not only loopback');
    const ports = new Set((container!.ports as Obj[]).map((p) => p.name));
    // liveness must not restart a pod that only lacks a model (it would lose its clone and retry
    // from scratch); readiness and startup wait for a serving model
    for (const [probe, path] of [
      ['livenessProbe', '/livez'],
      ['readinessProbe', '/readyz'],
      ['startupProbe', '/readyz'],
    ] as const) {
      assert.equal(at(container, `${probe}.httpGet.path`), path, probe);
      assert.ok(ports.has(at(container, `${probe}.httpGet.port`)), `${probe} port is declared`);
    }
    const token = (container!.env as Obj[]).find((e) => e.name === 'FLEETCAST_ADMIN_TOKEN');
    assert.equal(at(token, 'valueFrom.secretKeyRef.name'), 'fleetcast');
    assertHardened(deployment);

    const service = find('Service', 'fleetcast-inference');
    assert.deepEqual(at(service, 'spec.selector'), at(deployment, 'spec.template.metadata.labels'));
    for (const p of at(service, 'spec.ports') as Obj[])
      assert.ok(ports.has(p.targetPort), 'Service targets a named container port');
    const pdb = find('PodDisruptionBudget', 'fleetcast-inference');
    assert.ok((at(pdb, 'spec.minAvailable') as number) < (at(deployment, 'spec.replicas') as number));
  });

  it('the drift CronJob runs hourly, never overlaps, and runs a real fleetcast command', () => {
    const cron = find('CronJob', 'fleetcast-drift');
    const schedule = at(cron, 'spec.schedule') as string;
    const fields = schedule.split(/\s+/);
    assert.equal(fields.length, 5, 'five-field cron schedule');
    assert.match(fields[0]!, /^\d+$/);
    assert.ok(Number(fields[0]) < 60);
    assert.deepEqual(fields.slice(1), ['*', '*', '*', '*'], 'hourly');
    assert.equal(at(cron, 'spec.concurrencyPolicy'), 'Forbid');
    assert.equal(podSpec(cron).restartPolicy, 'Never');
    const [container] = containers(cron);
    const args = container!.args as string[];
    assert.ok(
      args.includes('--repo-dir=/var/lib/fleetcast/repo'),
      'runs on the checkout made by the init container',
    );
    const [checkout] = podSpec(cron).initContainers as Obj[];
    assert.ok((checkout!.command as string[]).includes('/var/lib/fleetcast/repo'));
    assertCliArgs(container!);
    const githubToken = (container!.env as Obj[]).find((e) => e.name === 'GITHUB_TOKEN');
    assert.ok(at(githubToken, 'valueFrom.secretKeyRef'), 'GitHub token comes from a Secret');
    assertHardened(cron);
  });
});

/** preStop sleep + the service's drain must fit in terminationGracePeriodSeconds, with room to spare. */
function assertGracefulStop(workload: Obj): void {
  const pod = podSpec(workload);
  const [container] = containers(workload);
  const command = at(container, 'lifecycle.preStop.exec.command') as string[] | undefined;
  assert.ok(command && command[0] === '/bin/sleep', 'preStop sleeps (the image has coreutils)');
  const preStop = Number(command[1]);
  assert.ok(preStop >= 5, 'preStop gives load balancers a few seconds to notice');
  const grace = pod.terminationGracePeriodSeconds as number;
  assert.ok(
    grace >= preStop + DEFAULT_DRAIN_TIMEOUT_MS / 1000 + 5,
    `terminationGracePeriodSeconds ${grace} ≥ preStop ${preStop} s + drain ${DEFAULT_DRAIN_TIMEOUT_MS / 1000} s + 5 s`,
  );
}

describe('graceful stop', () => {
  it('the inference Deployment sleeps in preStop, then has time to drain', () => {
    assertGracefulStop(find('Deployment', 'fleetcast-inference'));
  });
});

describe('blue-green manifests (deploy/kubernetes/blue-green/)', () => {
  const bgDir = new URL('../../deploy/kubernetes/blue-green/', import.meta.url);
  const bg: Obj[] = readdirSync(bgDir)
    .filter((f) => f.endsWith('.yaml'))
    .flatMap((f) =>
      parseAllDocuments(readFileSync(new URL(f, bgDir), 'utf8')).map((d) => {
        assert.deepEqual(d.errors, [], `blue-green/${f} parses`);
        return d.toJS() as Obj;
      }),
    );
  const bgFind = (kind: string, name: string): Obj => {
    const doc = bg.find((d) => d.kind === kind && (d.metadata as Obj).name === name);
    assert.ok(doc, `blue-green ${kind}/${name} exists`);
    return doc;
  };

  it('two Deployments, each pinned to one model with serve --model-id, hardened, ready on /readyz', () => {
    for (const slot of ['blue', 'green']) {
      const deployment = bgFind('Deployment', `fleetcast-inference-${slot}`);
      const labels = at(deployment, 'spec.template.metadata.labels') as Obj;
      assert.equal(labels['fleetcast.io/slot'], slot);
      assert.deepEqual(at(deployment, 'spec.selector.matchLabels'), labels);
      const [container] = containers(deployment);
      assert.equal(assertCliArgs(container!).name(), 'serve');
      const args = container!.args as string[];
      assert.ok(args.includes('--model-id=$(FLEETCAST_MODEL_ID)'), `${slot} is pinned`);
      const modelId = (container!.env as Obj[]).find((e) => e.name === 'FLEETCAST_MODEL_ID');
      assert.match(String(modelId?.value), /^tft-\d{8}T\d{6}Z-[0-9a-f]{6}$/);
      assert.ok(args.includes('--manifest=fleet/manifest.json'), 'pinned instances check the manifest');
      assert.equal(at(container, 'readinessProbe.httpGet.path'), '/readyz');
      assertHardened(deployment);
      assertGracefulStop(deployment);
    }
  });

  it('the Service selects exactly one slot, and its pods', () => {
    const service = bgFind('Service', 'fleetcast-inference');
    const selector = at(service, 'spec.selector') as Obj;
    assert.ok(['blue', 'green'].includes(selector['fleetcast.io/slot'] as string));
    const live = bgFind('Deployment', `fleetcast-inference-${String(selector['fleetcast.io/slot'])}`);
    assert.deepEqual(selector, at(live, 'spec.template.metadata.labels'));
    assert.ok((at(live, 'spec.replicas') as number) > 0, 'the selected slot has pods');
  });
});
