/** The `policy` configuration section: keys for rotation, filters, reply limits, alarms. */
import t from 'tap';
import { UsageError } from '../../src/errors';
import { parsePolicyConfig } from '../../src/policy/config';
import { parseYaml } from '../../src/policy/validate';
import { Alarms } from '../../src/policy/alarms';
import { BeaconFilter } from '../../src/policy/filters';
import { ReplyLimiter } from '../../src/policy/ratelimit';

const SRC = { name: 'netbeacon.yaml', code: 'E_CONFIG' };
const yaml = (text: string): unknown => (parseYaml(SRC, text) as { policy?: unknown }).policy;

t.test('absent or empty: defaults everywhere', async (t) => {
  t.same(parsePolicyConfig(SRC, undefined), { filters: [], replies: {}, alarms: {} });
  t.same(parsePolicyConfig(SRC, null), { filters: [], replies: {}, alarms: {} });
  t.same(parsePolicyConfig(SRC, {}), { filters: [], replies: {}, alarms: {} });
});

t.test('the documented example parses into options the policy modules take', async (t) => {
  const p = parsePolicyConfig(
    SRC,
    yaml(`
policy:
  keys:
    - secret_file: /var/lib/maas/secret.new
      role: current
    - secret_file: /var/lib/maas/secret
      role: previous
      accept_until: "2025-07-01T12:00:00Z"
    - secret_file: /var/lib/maas/secret.old
      role: previous
      accept_until: 1751371200.5
  filters:
    - interfaces: ["eth*"]
      deny_vids: [4095]
  replies:
    per_peer: { rate: 0.5, burst: 3 }
    total: { rate: 20, burst: 40 }
    max_peers: 100
  alarms:
    interval: 30
    max_tracked: 10
  expected: /etc/netbeacon/expected.yaml
`),
  );
  t.same(p, {
    keys: [
      { secretFile: '/var/lib/maas/secret.new', role: 'current' },
      { secretFile: '/var/lib/maas/secret', role: 'previous', acceptUntil: 1751371200 },
      { secretFile: '/var/lib/maas/secret.old', role: 'previous', acceptUntil: 1751371200.5 },
    ],
    filters: [{ interfaces: ['eth*'], denyVids: [4095] }],
    replies: { perPeer: { ratePerSecond: 0.5, burst: 3 }, total: { ratePerSecond: 20, burst: 40 }, maxPeers: 100 },
    alarms: { intervalMs: 30_000, maxKeys: 10 },
    expected: '/etc/netbeacon/expected.yaml',
  });
  t.ok(new BeaconFilter(p.filters), 'filters compile');
  t.ok(new ReplyLimiter(p.replies), 'limits are valid bucket configurations');
  t.ok(new Alarms(p.alarms), 'alarm options are valid');
  t.same(
    parsePolicyConfig(SRC, {
      keys: [
        { secret_file: 'a', role: 'previous', accept_until: '2025-07-01T14:00:00+02:00' },
        { secret_file: 'b', role: 'current' },
      ],
    }).keys![0]!.acceptUntil,
    1751371200,
    'a zone offset',
  );
});

t.test('every mistake names the file and key path', async (t) => {
  const bad = (value: unknown, message: string): void => {
    let err: unknown;
    try {
      parsePolicyConfig(SRC, value);
    } catch (e) {
      err = e;
    }
    t.type(err, UsageError, message);
    t.match(err, { code: 'E_CONFIG', exitCode: 2 });
    t.equal((err as Error | undefined)?.message, `netbeacon.yaml: ${message}`);
  };
  bad([], 'policy: must be a mapping, got a list');
  bad({ filter: [] }, 'policy.filter: unknown key (expected "keys", "filters", "replies", "alarms", "expected")');
  bad({ keys: [] }, 'policy.keys: must have exactly one key with role current, has 0');
  bad({ keys: {} }, 'policy.keys: must be a list, got a mapping');
  bad(
    {
      keys: [
        { secret_file: 'a', role: 'current' },
        { secret_file: 'b', role: 'current' },
      ],
    },
    'policy.keys: must have exactly one key with role current, has 2',
  );
  bad({ keys: [{ secret_file: 'a' }] }, 'policy.keys[0].role: is required');
  bad({ keys: [{ secret_file: 'a', role: 'old' }] }, 'policy.keys[0].role: must be "current" or "previous", got "old"');
  bad({ keys: [{ secret_file: '', role: 'current' }] }, 'policy.keys[0].secret_file: must be a non-empty string, got ""');
  bad(
    {
      keys: [
        { secret_file: 'a', role: 'current' },
        { secret_file: 'a', role: 'previous', accept_until: 1 },
      ],
    },
    'policy.keys[1].secret_file: a is already listed at policy.keys[0]',
  );
  bad(
    { keys: [{ secret_file: 'a', role: 'current', accept_until: 5 }] },
    'policy.keys[0].accept_until: the current key signs and is always accepted; only previous keys have an end',
  );
  bad(
    {
      keys: [
        { secret_file: 'a', role: 'current' },
        { secret_file: 'b', role: 'previous' },
      ],
    },
    'policy.keys[1].accept_until: is required for a previous key: a transition window needs an end',
  );
  for (const when of ['2025-07-01T12:00:00', '2025-07-01', 'tomorrow', '2025-13-45T99:00:00Z', -1, Number.POSITIVE_INFINITY, true]) {
    bad(
      {
        keys: [
          { secret_file: 'a', role: 'current' },
          { secret_file: 'b', role: 'previous', accept_until: when },
        ],
      },
      `policy.keys[1].accept_until: must be a time like "2025-07-01T12:00:00Z" (with a zone) or seconds since the epoch, got ${when === Number.POSITIVE_INFINITY ? 'Infinity' : JSON.stringify(when)}`,
    );
  }
  bad({ filters: [{ deny_vids: ['x'] }] }, 'policy.filters[0].deny_vids[0]: must be a VID 0-4095, a range "A-B" or untagged, got "x"');
  bad({ replies: { per_peer: { rate: 0, burst: 1 } } }, 'policy.replies.per_peer.rate: must be a number greater than 0 and at most 1000000, got 0');
  bad({ replies: { total: { rate: 1 } } }, 'policy.replies.total.burst: is required');
  bad({ replies: { total: { rate: 1, burst: 2.5 } } }, 'policy.replies.total.burst: must be an integer 1-1000000, got 2.5');
  bad({ replies: { max_peers: 0 } }, 'policy.replies.max_peers: must be an integer 1-10000000, got 0');
  bad({ replies: { perpeer: {} } }, 'policy.replies.perpeer: unknown key (expected "per_peer", "total", "max_peers")');
  bad({ alarms: { interval: '60s' } }, 'policy.alarms.interval: must be a number greater than 0 and at most 86400, got "60s"');
  bad({ alarms: { max_tracked: -1 } }, 'policy.alarms.max_tracked: must be an integer 1-10000000, got -1');
  bad({ alarms: { every: 1 } }, 'policy.alarms.every: unknown key (expected "interval", "max_tracked")');
  bad({ expected: 7 }, 'policy.expected: must be a non-empty string, got 7');
});
