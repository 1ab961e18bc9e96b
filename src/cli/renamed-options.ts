import { InvalidArgumentError, Option, type Command } from 'commander';

/**
 * Flags that were renamed, kept only so that using one fails with the new name
 * (`--work was renamed to --work-dir`) instead of a bare "unknown option". Hidden from --help.
 */
export function rejectRenamedOptions(command: Command, renamed: Readonly<Record<string, string>>): Command {
  for (const [old, now] of Object.entries(renamed))
    command.addOption(
      new Option(`${old} <value>`).hideHelp().argParser((): never => {
        throw new InvalidArgumentError(`${old} was renamed to ${now}`);
      }),
    );
  return command;
}
