/** Flag parsing for worker processes (the parent builds their argv; errors are bugs, so they throw). */
export function flag(name: string, argv: readonly string[] = process.argv.slice(2)): string {
  const i = argv.indexOf(name);
  const v = i >= 0 ? argv[i + 1] : undefined;
  if (v === undefined) throw new Error(`worker: missing ${name}`);
  return v;
}

export function optionalFlag(name: string, argv: readonly string[] = process.argv.slice(2)): string | undefined {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
}

export function numberFlag(name: string, argv: readonly string[] = process.argv.slice(2)): number {
  const v = Number(flag(name, argv));
  if (!Number.isFinite(v)) throw new Error(`worker: ${name} is not a number`);
  return v;
}

/** Prints the worker's answer: one JSON line on stdout. */
export function answer(value: Record<string, unknown>): void {
  process.stdout.write(JSON.stringify(value) + '\n');
}

/** Runs a worker's main, turning a failure into a message and exit code 1. */
export function workerMain(main: () => Promise<void> | void): void {
  Promise.resolve()
    .then(main)
    .catch((err: unknown) => {
      process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exitCode = 1;
    });
}
