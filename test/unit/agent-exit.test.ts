/**
 * How the agent ends (src/agent/exit.ts): the exit status the unit's
 * restart rules act on, and a last log line that says why. The real agent
 * is run to these ends in test/integration/agent-systemd.test.ts; here the
 * cases a real process cannot reach on purpose (a bug that throws, an
 * exception nothing caught) are driven directly.
 */
import t from 'tap';
import { Writable } from 'node:stream';
import { createLogger } from '../../src/log';
import { crashHandler, exitCodeOf, logFailure, runSupervised, EXIT_INTERNAL } from '../../src/agent/exit';
import { NetbeaconError, UsageError } from '../../src/errors';

function capture(): { log: ReturnType<typeof createLogger>; lines: () => Array<Record<string, unknown>> } {
  let text = '';
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      text += chunk.toString();
      done();
    },
  });
  return {
    log: createLogger('info', sink),
    lines: () =>
      text
        .trim()
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

t.test('exit statuses: the error says, and anything else is a bug', async (t) => {
  t.equal(exitCodeOf(new UsageError('E_CONFIG', 'bad')), 2, 'the operator to fix: no restart');
  t.equal(exitCodeOf(new NetbeaconError('E_SOCKET_IN_USE', 'busy', 1)), 1, 'may pass: restart');
  t.equal(exitCodeOf(new TypeError('x is undefined')), EXIT_INTERNAL);
  t.equal(exitCodeOf('a string'), 70);
});

t.test('a failed start is one fatal line with the reason, and the exit status', async (t) => {
  t.teardown(() => void (process.exitCode = undefined));
  const { log, lines } = capture();
  await runSupervised(log, () => Promise.reject(new UsageError('E_SECRET', 'secret file /x does not exist')));
  t.equal(process.exitCode, 2);
  t.match(lines().at(-1), { level: 'fatal', code: 'E_SECRET', exit_code: 2, msg: 'netbeacon agent failed: secret file /x does not exist' });
  t.notOk('err' in lines().at(-1)!, 'an operator error carries no stack');

  const bug = capture();
  await runSupervised(bug.log, () => Promise.reject(new TypeError('cannot read properties of undefined')));
  t.equal(process.exitCode, 70);
  const last = bug.lines().at(-1)!;
  t.match(last, { level: 'fatal', exit_code: 70, msg: 'netbeacon agent failed: cannot read properties of undefined' });
  t.match((last.err as { stack: string }).stack, /TypeError: cannot read properties of undefined\n\s+at /, 'a bug keeps its stack');
});

t.test('while it runs, an exception nothing caught is logged, flushed, then exit 70', async (t) => {
  const { log, lines } = capture();
  const exits: number[] = [];
  const onCrash = crashHandler(log, (c) => exits.push(c));
  let installed = false;
  await runSupervised(
    log,
    async () => {
      installed = process.listeners('uncaughtException').includes(onCrash);
      await Promise.resolve();
    },
    onCrash,
  );
  t.ok(installed, 'the handler is on while the agent runs');
  t.notOk(process.listeners('uncaughtException').includes(onCrash), 'and off once it returns');
  onCrash(new RangeError('offset out of range'));
  await new Promise((r) => setImmediate(r));
  t.same(exits, [70], 'exits 70 after the log is flushed');
  t.match(lines().at(-1), { level: 'fatal', exit_code: 70, msg: 'netbeacon agent crashed: offset out of range' });
  logFailure(log, 'run', 'not an Error');
  t.match(lines().at(-1), { msg: 'netbeacon agent crashed: not an Error' });
});
