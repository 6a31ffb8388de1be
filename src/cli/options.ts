/** Options and set-up shared by several subcommands. */
import { InvalidArgumentError, Option, type Command } from 'commander';

export function addSecretOption(cmd: Command): Command {
  return cmd.option(
    '--secret-file <file>',
    'MAAS shared secret (hex). Default: $NETBEACON_SECRET_FILE, then /var/lib/maas/secret, then /var/snap/maas/common/maas/secret',
  );
}

export function addEngineOption(cmd: Command): Command {
  return cmd.addOption(
    new Option('--engine <engine>', 'hot-path engine: native (C++ addon), js, or auto (native when it can run). Default: $NETBEACON_ENGINE or auto').choices([
      'auto',
      'native',
      'js',
    ]),
  );
}

/** Parse a number option, naming the option in the error. */
export function numberArg(name: string, min: number, max: number, integer = false): (value: string) => number {
  return (value: string) => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n) || n < min || n > max || (integer && !Number.isInteger(n))) {
      // commander turns this into a usage error (exit 2)
      throw new InvalidArgumentError(`${name} must be ${integer ? 'an integer' : 'a number'} from ${min} to ${max}, got "${value}"`);
    }
    return n;
  };
}
