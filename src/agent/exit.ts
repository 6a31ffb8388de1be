/**
 * How the agent ends, as its supervisor sees it: the exit status decides
 * whether systemd restarts it (packaging/netbeacon.service: Restart=on-failure,
 * but not on exit 2), and the last log line says why it stopped, so that
 * `journalctl -u netbeacon` answers "why is it down" without a debugger.
 *
 *   0   stopped by SIGTERM/SIGINT (last line: "netbeacon agent stopped (SIGTERM)")
 *   1   a failure that a restart may cure (a socket in use, a capture that
 *       cannot open yet)
 *   2   the operator's to fix: a bad config, no secret, a bad flag (a restart
 *       cannot cure it, so the unit does not restart on it)
 *   70  a bug: an exception nothing caught (EX_SOFTWARE)
 */
import type { Logger } from '../log';
import { NetbeaconError } from '../errors';

export const EXIT_INTERNAL = 70;

export function exitCodeOf(err: unknown): number {
  return err instanceof NetbeaconError ? err.exitCode : EXIT_INTERNAL;
}

/** Logs why the agent stops on `err` as its last line (fatal) and returns the exit status for it. */
export function logFailure(log: Logger, stage: 'start' | 'run', err: unknown): number {
  const exit = exitCodeOf(err);
  const e = err instanceof Error ? err : new Error(String(err));
  const what = stage === 'start' ? 'failed' : 'crashed';
  // A NetbeaconError is the operator's message; anything else is a bug and keeps its stack.
  const fields = err instanceof NetbeaconError ? { code: err.code, exit_code: exit } : { err: e, exit_code: exit };
  log.fatal(fields, `netbeacon agent ${what}: ${e.message}`);
  return exit;
}

/**
 * What an exception nothing caught does to the agent: one fatal log line,
 * flushed, then exit 70. The state after it is unknown, so a restart is
 * systemd's to do, not ours.
 */
export function crashHandler(log: Logger, exit: (code: number) => void = (c) => process.exit(c)): (err: unknown) => void {
  return (err) => {
    const code = logFailure(log, 'run', err);
    log.flush(() => exit(code));
  };
}

/**
 * Runs the agent; whatever it throws becomes one fatal log line and the
 * exit status (never a second, plain-text copy on stderr), and an exception
 * nothing caught while it runs goes to crashHandler.
 */
export async function runSupervised(log: Logger, run: () => Promise<void>, onCrash = crashHandler(log)): Promise<void> {
  process.on('uncaughtException', onCrash);
  try {
    await run();
  } catch (err) {
    process.exitCode = logFailure(log, 'start', err);
  } finally {
    process.off('uncaughtException', onCrash);
    log.flush();
  }
}
