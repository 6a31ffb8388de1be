import t from 'tap';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describeFsError } from '../../src/errors';
import { DEFAULT_SECRET_PATHS, loadSecret, locateSecret, parseSecret } from '../../src/secret/secret';
import { UsageError } from '../../src/errors';

const SECRET = '00112233445566778899aabbccddeeff';

t.test('lookup order: flag, env, systemd credential, MAAS defaults', async (t) => {
  const none = () => false;
  t.same(locateSecret('/a', { NETBEACON_SECRET_FILE: '/b' }, none), { path: '/a', from: '--secret-file' });
  t.same(
    locateSecret(undefined, { NETBEACON_SECRET_FILE: '/b', CREDENTIALS_DIRECTORY: '/c' }, () => true),
    { path: '/b', from: 'NETBEACON_SECRET_FILE' },
  );
  t.same(
    locateSecret(undefined, { CREDENTIALS_DIRECTORY: '/c' }, (p) => p === '/c/netbeacon-secret'),
    { path: '/c/netbeacon-secret', from: 'systemd credential' },
  );
  t.same(
    locateSecret(undefined, { CREDENTIALS_DIRECTORY: '/c' }, (p) => p === DEFAULT_SECRET_PATHS[0]),
    { path: DEFAULT_SECRET_PATHS[0], from: 'default' },
  );
  t.same(
    locateSecret(undefined, {}, (p) => p === DEFAULT_SECRET_PATHS[1]),
    { path: DEFAULT_SECRET_PATHS[1], from: 'default' },
    'the snap path',
  );
  t.throws(() => locateSecret(undefined, {}, none), { code: 'E_SECRET_MISSING', exitCode: 2, message: /--secret-file/ });
});

t.test('parsing: hex, whitespace stripped; errors name the file', async (t) => {
  t.same(Buffer.from(parseSecret(` ${SECRET.slice(0, 10)}\n${SECRET.slice(10)}\n`, 'f')).toString('hex'), SECRET);
  t.throws(() => parseSecret(' \n', '/x/s'), { code: 'E_SECRET_EMPTY', message: /\/x\/s is empty/ });
  t.throws(() => parseSecret('zz11', '/x/s'), { code: 'E_SECRET_NOT_HEX', message: /\/x\/s/ });
  t.throws(() => parseSecret('abc', '/x/s'), { code: 'E_SECRET_NOT_HEX', message: /odd/ });
});

t.test('loading from disk', async (t) => {
  const dir = t.testdir({ good: SECRET + '\n', empty: '', bad: 'not hex' });
  const good = join(dir, 'good');
  chmodSync(good, 0o600);
  const s = loadSecret(good, {});
  t.equal(Buffer.from(s.bytes).toString('hex'), SECRET);
  t.notOk(s.warning, 'mode 600 gives no warning');
  chmodSync(good, 0o640);
  t.match(loadSecret(good, {}).warning, /readable by group or others \(mode 640\)/);
  const errors: Array<[string, RegExp]> = [
    [join(dir, 'missing'), /missing \(from --secret-file\) does not exist/],
    [join(dir, 'empty'), /empty is empty/],
    [join(dir, 'bad'), /bad does not hold hex/],
    [dir, /is a directory/],
  ];
  for (const [path, message] of errors) {
    const err = t.throws(() => loadSecret(path, {})) as unknown;
    t.ok(err instanceof UsageError, 'a usage error (exit 2)');
    t.match((err as Error).message, message);
    t.notMatch((err as Error).message, SECRET, 'never the secret');
  }
  mkdirSync(join(dir, 'creds'));
  writeFileSync(join(dir, 'creds', 'netbeacon-secret'), SECRET);
  t.equal(loadSecret(undefined, { CREDENTIALS_DIRECTORY: join(dir, 'creds') }).from, 'systemd credential');
});

t.test('file errors in words', async (t) => {
  const e = (code?: string) => Object.assign(new Error('boom'), code ? { code } : {});
  t.equal(describeFsError(e('EACCES')), 'is not readable (permission denied)');
  t.equal(describeFsError(e('EPERM')), 'is not readable (permission denied)');
  t.equal(describeFsError(e('EIO')), 'cannot be read (EIO)');
  t.equal(describeFsError(e()), 'cannot be read (boom)');
});
