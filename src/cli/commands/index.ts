import type { Command } from 'commander';

/** Every subcommand module; order is the order in --help. */
export const COMMANDS: Array<(program: Command) => void> = [];
