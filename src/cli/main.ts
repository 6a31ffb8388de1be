#!/usr/bin/env node
/**
 * The `netbeacon` command. Each subcommand lives in its own module under
 * src/cli/commands/ and exports `register(program)`.
 */
import { Command, CommanderError } from 'commander';
import { NetbeaconError } from '../errors';
import { VERSION } from '../version';
import { commandsFor } from './commands';

/** The program with the commands `argv` needs registered (all of them without argv). */
export function buildProgram(argv?: readonly string[]): Command {
  const program = new Command('netbeacon')
    .description('MAAS-compatible network beaconing: discover how interfaces are wired together')
    .version(VERSION)
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  for (const register of commandsFor(argv)) register(program);
  return program;
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram(argv);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      // help and version exit 0; every usage error exits 2
      return err.exitCode === 0 ? 0 : 2;
    }
    if (err instanceof NetbeaconError) {
      process.stderr.write(`netbeacon: ${err.message}\n`);
      return err.exitCode;
    }
    throw err;
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(`netbeacon: internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exitCode = 70;
    },
  );
}
