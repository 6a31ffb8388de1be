/**
 * Every subcommand, loaded on demand. Each module under this directory
 * exports `register(program)`; requiring one pulls in what its action
 * needs (the agent alone loads pino, prom-client and yaml), so
 * `netbeacon observe …` loads only observe's module: ~100 ms less start-up
 * for every command, which is most of a short `status` or a file observe.
 */
import type { Command } from 'commander';

type Register = (program: Command) => void;

interface CommandModule {
  /** The command names the module registers, in --help order. */
  readonly names: readonly string[];
  readonly load: () => Register;
}

/* eslint-disable @typescript-eslint/no-require-imports */
const MODULES: readonly CommandModule[] = [
  { names: ['agent'], load: () => (require('./agent') as typeof import('./agent')).register },
  {
    names: ['status', 'hints', 'watch'],
    load: () => {
      const m = require('./status') as typeof import('./status');
      return (p) => {
        m.register(p);
        m.registerWatch(p);
      };
    },
  },
  { names: ['observe'], load: () => (require('./observe') as typeof import('./observe')).register },
  { names: ['encode'], load: () => (require('./encode') as typeof import('./encode')).register },
  { names: ['decode'], load: () => (require('./decode') as typeof import('./decode')).register },
  { names: ['doctor'], load: () => (require('./doctor') as typeof import('./doctor')).register },
  { names: ['replay'], load: () => (require('./replay') as typeof import('./replay')).register },
  { names: ['topology'], load: () => (require('./topology') as typeof import('./topology')).register },
  { names: ['place'], load: () => (require('./place') as typeof import('./place')).register },
  { names: ['check'], load: () => (require('./check') as typeof import('./check')).register },
  { names: ['discover'], load: () => (require('./discover') as typeof import('./discover')).register },
  { names: ['probe'], load: () => (require('./probe') as typeof import('./probe')).register },
  { names: ['mtu'], load: () => (require('./mtu') as typeof import('./mtu')).register },
  { names: ['vlans'], load: () => (require('./vlans') as typeof import('./vlans')).register },
  { names: ['demo'], load: () => (require('./demo') as typeof import('./demo')).register },
  { names: ['fleet'], load: () => (require('./fleet') as typeof import('./fleet')).register },
];
/* eslint-enable @typescript-eslint/no-require-imports */

/** Every command's name, in --help order. */
export const COMMAND_NAMES: readonly string[] = MODULES.flatMap((m) => m.names);

/**
 * The registrations `argv` needs: only its command's when its first
 * non-option word names one, otherwise all of them (top-level --help, an
 * unknown command that commander must report with suggestions, `help X`).
 */
export function commandsFor(argv?: readonly string[]): Register[] {
  const word = argv?.find((a) => !a.startsWith('-'));
  // `netbeacon --version` needs no command at all.
  if (word === undefined && argv?.some((a) => a === '-V' || a === '--version')) return [];
  const one = word === undefined ? undefined : MODULES.find((m) => m.names.includes(word));
  return (one ? [one] : MODULES).map((m) => m.load());
}
