import type { Command } from 'commander';

/**
 * Every `fleetcast` subcommand, in the order `--help` lists them.
 * Each module exports `register(program)`; keep this file to one line per command.
 */
export function registerCommands(program: Command): void {
  void program;
}
