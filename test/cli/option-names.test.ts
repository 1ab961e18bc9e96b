import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CommanderError, type Command } from 'commander';
import { buildProgram } from '../../src/cli/main.js';
import { NOW_HELP } from '../../src/cli/fleet-options.js';

/** Every command under the program, `manifest update` included, with its full name. */
function commandsOf(command: Command, prefix = ''): Array<[string, Command]> {
  return command.commands.flatMap((c): Array<[string, Command]> => {
    const name = `${prefix}${c.name()}`;
    return [[name, c], ...commandsOf(c, `${name} `)];
  });
}

/** Parses `args` with output silenced; the CommanderError it ends with, if any. */
async function parseError(args: string[]): Promise<CommanderError | undefined> {
  const program = buildProgram();
  for (const command of [program, ...commandsOf(program).map(([, c]) => c)])
    command.configureOutput({ writeOut: () => {}, writeErr: () => {} });
  // Stop before any action runs: only parsing is under test.
  for (const [, command] of commandsOf(program)) if (command.commands.length === 0) command.action(() => {});
  try {
    await program.parseAsync(args, { from: 'user' });
    return undefined;
  } catch (error) {
    if (error instanceof CommanderError) return error;
    throw error;
  }
}

/** Long flags each command shows in --help. */
function visibleFlags(command: Command): string[] {
  return command.options.filter((o) => !o.hidden).map((o) => o.long ?? o.flags);
}

describe('option names: one name for one idea across commands', () => {
  const commands = commandsOf(buildProgram());

  it('a model is named by id (--model-id) or by directory (--…model-dir), never a bare --model', () => {
    for (const [name, command] of commands)
      for (const flag of visibleFlags(command).filter((f) => /model(?!-servers|-thread)/.test(f)))
        assert.match(flag, /^--(model-id|(baseline-)?model-dir)$/, `${name} ${flag}`);
  });

  it('a work directory is --work-dir', () => {
    for (const [name, command] of commands)
      for (const flag of visibleFlags(command).filter((f) => /work(?!flow)/.test(f)))
        assert.match(flag, /^--(keep-)?work-dir$/, `${name} ${flag}`);
  });

  it('the as-of time is --now on every command that has one (generate --end ends its window)', () => {
    const withNow = commands.filter(([, c]) => visibleFlags(c).includes('--now')).map(([n]) => n);
    assert.deepEqual(withNow.sort(), [
      'check-data',
      'drift',
      'drift-pr',
      'fleet',
      'manifest update',
      'reconcile',
      'train',
      'validate',
    ]);
    for (const [name, command] of commands)
      for (const flag of visibleFlags(command).filter((f) => /^--(end|as-of|until)$/.test(f)))
        assert.equal(`${name} ${flag}`, 'generate --end');
  });

  it('every --now means the same: one help text, one parser', async () => {
    for (const [name, command] of commands) {
      const now = command.options.find((o) => o.long === '--now');
      if (now) assert.equal(now.description, NOW_HELP, name);
    }
    const train = ['train', '--metrics', 'x', '--manifest', 'm', '--registry', 'r'];
    assert.equal(await parseError([...train, '--now', '2013-09-29']), undefined);
    assert.match((await parseError([...train, '--now', '2013-09-29 12:00']))?.message ?? '', /--now/);
    assert.match(
      (await parseError(['drift-pr', '--metrics', 'x', '--now', 'yesterday']))?.message ?? '',
      /--now/,
    );
  });

  const renamed: Array<[string[], string, string]> = [
    [['validate', '--model', 'models/x', '--manifest', 'm.json'], '--model', '--model-dir'],
    [['validate', '--model-dir', 'd', '--manifest', 'm.json', '--end', '2026-01-01'], '--end', '--now'],
    [
      ['validate', '--model-dir', 'd', '--manifest', 'm', '--baseline-model', 'b'],
      '--baseline-model',
      '--baseline-model-dir',
    ],
    [
      ['train', '--metrics', 'x', '--manifest', 'm', '--registry', 'r', '--work', 'w'],
      '--work',
      '--work-dir',
    ],
    [
      ['train', '--metrics', 'x', '--manifest', 'm', '--registry', 'r', '--baseline-model', 'b'],
      '--baseline-model',
      '--baseline-model-dir',
    ],
    [['deploy', '--registry', 'r', '--model', 'tft-x'], '--model', '--model-id'],
    [['rollback', '--registry', 'r', '--to', 'tft-x'], '--to', '--model-id'],
    [['drift-pr', '--metrics', 'x', '--base', 'main'], '--base', '--base-branch'],
  ];
  for (const [args, old, now] of renamed)
    it(`${args[0]} ${old} fails, naming ${now}`, async () => {
      const error = await parseError(args);
      assert.ok(error, 'parsing must fail');
      assert.notEqual(error.exitCode, 0);
      assert.match(error.message, new RegExp(`${old} was renamed to ${now}`));
    });

  it('the renamed flags are hidden from --help', () => {
    for (const [args, old] of renamed) {
      const command = commands.find(([name]) => name === args[0])![1];
      const option = command.options.find((o) => o.long === old);
      assert.ok(option?.hidden, `${args[0]} ${old}`);
    }
  });

  it('the new names parse', async () => {
    assert.equal(
      await parseError(['validate', '--model-dir', 'd', '--manifest', 'm', '--now', '2026-01-01']),
      undefined,
    );
    assert.equal(await parseError(['deploy', '--registry', 'r', '--model-id', 'tft-x']), undefined);
    assert.equal(await parseError(['rollback', '--registry', 'r', '--model-id', 'tft-x']), undefined);
    assert.equal(
      await parseError([
        'train',
        '--metrics',
        'x',
        '--manifest',
        'm',
        '--registry',
        'r',
        '--work-dir',
        'w',
        '--baseline-model-dir',
        'b',
      ]),
      undefined,
    );
    const bad = await parseError(['validate', '--model-dir', 'd', '--manifest', 'm', '--now', 'yesterday']);
    assert.match(bad?.message ?? '', /--now/);
  });
});
