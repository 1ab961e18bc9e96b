import { Command, CommanderError } from 'commander';
import { ExitCode, exitCodeOf, getErrorMessage } from '../core/errors.js';
import { registerCommands } from './commands/index.js';
import { packageVersion } from '../core/version.js';

/** Builds the `fleetcast` program; each command module registers itself. */
export function buildProgram(): Command {
  const program = new Command('fleetcast')
    .description('Keeps a TFT forecasting model in step with a changing server fleet')
    .version(packageVersion())
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  registerCommands(program);
  for (const command of program.commands) command.exitOverride();
  return program;
}

/** Runs the CLI and returns the process exit code instead of exiting, so tests can call it. */
export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : ExitCode.ok;
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help and --version end through here with exit code 0.
      return error.exitCode === 0 ? ExitCode.ok : ExitCode.badInput;
    }
    process.stderr.write(`fleetcast: error: ${getErrorMessage(error)}\n`);
    if (process.env.FLEETCAST_DEBUG && error instanceof Error && error.stack)
      process.stderr.write(`${error.stack}\n`);
    return exitCodeOf(error);
  }
}
