/** encode, decode, doctor and the command's help and usage errors. */
import t from 'tap';
import { gunzipSync } from 'node:zlib';
import { deserialize } from 'bson';
import { runCli } from '../helpers/cli';
import { runInProcess } from '../helpers/inprocess';
import { corpusCases, corpusKey, vector } from '../helpers/corpus';
import { fernetVerifyDecrypt, keyObjects } from '../../src/protocol/fernet';

const SECRET = vector('secret');

t.test('every command has --help, and a wrong option is a usage error (exit 2)', async (t) => {
  const top = await runInProcess(['--help']);
  t.equal(top.code, 0);
  const commands = [...top.stdout.slice(top.stdout.indexOf('Commands:')).matchAll(/^ {2}([a-z][a-z-]*)/gm)].map((m) => m[1]!).filter((c) => c !== 'help');
  for (const required of ['observe', 'encode', 'decode', 'doctor']) t.ok(commands.includes(required), `${required} listed`);
  for (const cmd of commands) {
    const help = await runInProcess([cmd, '--help']);
    t.equal(help.code, 0, `${cmd} --help exits 0`);
    t.match(help.stdout, new RegExp(`Usage: netbeacon ${cmd}`), `${cmd} --help prints usage`);
    const bad = await runInProcess([cmd, '--no-such-option']);
    t.equal(bad.code, 2, `${cmd} with a wrong option exits 2`);
    t.match(bad.stderr, /unknown option|required option|missing required argument/, `${cmd}: ${bad.stderr.split('\n')[0]}`);
  }
  t.equal((await runInProcess(['frobnicate'])).code, 2, 'an unknown command');
  t.equal((await runInProcess(['--version'])).code, 0);
});

t.test('the real process exits with the code main returns', async (t) => {
  t.equal((await runCli(['observe', '--bogus'])).status, 2);
  t.equal((await runCli(['--help'])).status, 0);
});

t.test('encode prints a beacon MAAS can read; decode reads it back', async (t) => {
  const payload = { remote: { name: 'eth0', mac_address: '52:54:00:0a:00:01', type: 'physical', parents: [], subnet: null } };
  const enc = await runCli(['encode', '--type', 'advertisement', '--payload', JSON.stringify(payload), '--secret-file', SECRET]);
  t.equal(enc.status, 0, enc.stderr);
  const hex = enc.stdout.trim();
  t.match(hex, /^[0-9a-f]+$/);
  const bytes = Buffer.from(hex, 'hex');
  t.same([...bytes.subarray(0, 2)], [2, 2], 'v2 header, advertisement');
  t.equal(bytes.readUInt16BE(2), bytes.length - 4, 'declared length covers the token');

  // Checked apart from our decoder: HMAC and AES, then node:zlib's gunzip and bson.
  const plain = fernetVerifyDecrypt(keyObjects(corpusKey()), bytes, 4, bytes.length);
  t.type(plain, Uint8Array);
  const plainBytes = Buffer.from(plain as Uint8Array);
  t.same([...plainBytes.subarray(0, 3)], [0x1f, 0x8b, 8], 'a gzip member, not zlib or raw deflate');
  t.equal(plainBytes[8], 2, 'gzip level 9 (XFL=2, maximum compression)');
  const doc = deserialize(gunzipSync(plainBytes));
  t.same(doc.remote, payload.remote);
  t.equal(doc.type, 2);
  t.match(doc.ulid, /^[0-9A-HJKMNP-TV-Z]{26}$/, 'a ULID');

  const dec = await runCli(['decode', hex, '--secret-file', SECRET]);
  t.equal(dec.status, 0, dec.stderr);
  t.same(JSON.parse(dec.stdout), { version: 2, type: 'advertisement', payload: { ...payload, ulid: doc.ulid as string, type: 2 } });
});

t.test('decode judges age with --at, and exits 1 with the reason', async (t) => {
  const c = corpusCases().find((x) => x.label === 'solicitation-ipv4-multicast')!;
  const ok = await runCli(['decode', '--at', String(Math.floor(c.time)), c.udp_payload_hex!, '--secret-file', SECRET]);
  t.equal(ok.status, 0, ok.stderr);
  t.same(JSON.parse(ok.stdout), c.beacon);
  const late = await runCli(['decode', '--at', String(Math.floor(c.time) + 61), c.udp_payload_hex!, '--secret-file', SECRET]);
  t.equal(late.status, 1);
  t.match(late.stderr, /rejected: expired/);
  const now = await runCli(['decode', c.udp_payload_hex!, '--secret-file', SECRET]);
  t.equal(now.status, 1, 'a 2026 token judged now is expired');
  const bad = await runCli(['decode', 'xyz', '--secret-file', SECRET]);
  t.equal(bad.status, 2);
  t.match(bad.stderr, /hex/);
  const badAt = await runCli(['decode', '--at', 'yesterday', '00', '--secret-file', SECRET]);
  t.equal(badAt.status, 2);
  t.match(badAt.stderr, /--at must be a number/);
});

t.test('encode refuses bad input', async (t) => {
  for (const args of [['--type', 'hello'], ['--type', 'solicitation', '--payload', '{'], ['--type', 'solicitation', '--payload', '[1]'], []]) {
    const r = await runCli(['encode', ...args, '--secret-file', SECRET]);
    t.equal(r.status, 2, args.join(' '));
  }
  const noSecret = await runCli(['encode', '--type', 'solicitation', '--secret-file', '/nope']);
  t.equal(noSecret.status, 2);
  t.match(noSecret.stderr, /\/nope/);
});

/** The keys of `doctor --json` this test reads. */
interface DoctorReport {
  secret: { found: boolean; fingerprint: string };
  engine: { capture: { engine: string; why?: string; error?: string } };
  interfaces: unknown;
  tcpdump: { present: boolean };
  can_run: boolean;
}

t.test('doctor explains itself and never shows the secret', async (t) => {
  const r = await runCli(['doctor', '--json', '--secret-file', SECRET]);
  const report = JSON.parse(r.stdout) as DoctorReport;
  t.equal(report.secret.found, true);
  t.match(report.secret.fingerprint, /^[0-9a-f]{8}$/);
  t.notMatch(r.stdout, /00112233445566778899aabbccddeeff/);
  t.type(report.engine.capture.why ?? report.engine.capture.error, 'string');
  t.ok(Array.isArray(report.interfaces));
  t.type(report.tcpdump.present, 'boolean');
  t.equal(r.status, report.can_run ? 0 : 1);
  const text = await runCli(['doctor', '--secret-file', SECRET]);
  t.match(text.stdout, /capture\s+(native|js)/);
  t.match(text.stdout, /secret\s+found/);
  const none = await runCli(['doctor', '--secret-file', '/nope']);
  t.equal(none.status, 1, 'no secret: the agent cannot run');
  t.match(none.stdout, /NOT FOUND/);
  const forced = await runCli(['doctor', '--json', '--engine', 'js', '--secret-file', SECRET]);
  t.equal((JSON.parse(forced.stdout) as DoctorReport).engine.capture.engine, 'js');
});
