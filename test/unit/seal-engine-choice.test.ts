/**
 * Which engine seals the agent's beacons (chooseSealEngine): the addon's
 * NativeSealer when the addon loads and has it, whatever the capabilities;
 * JS otherwise, saying why; `--engine native` refused when it cannot run.
 */
import t from 'tap';
import type { BindingState } from '../../src/engine/binding';
import { chooseSealEngine } from '../../src/engine/select';
import { createSealer } from '../../src/engine/sealer';
import { loadBinding } from '../../src/engine/binding';

const withSealer: BindingState = { ok: true, path: '/x/netbeacon.node', binding: { abiVersion: 1, NativeSealer: function NativeSealer() {} } };
const older: BindingState = { ok: true, path: '/x/netbeacon.node', binding: { abiVersion: 1 } };
const missing: BindingState = { ok: false, why: 'not-built', detail: 'build/Release/netbeacon.node does not exist' };

t.test('native when the addon has the sealer; no CAP_NET_RAW needed', async (t) => {
  t.match(chooseSealEngine('auto', withSealer), { engine: 'native', requested: 'auto', why: 'the native addon is built and loads' });
  t.match(chooseSealEngine('native', withSealer), { engine: 'native', why: 'the native engine was requested' });
  t.match(chooseSealEngine('js', withSealer), { engine: 'js', why: 'the JS engine was requested' });
  t.notOk('nativeUnavailable' in chooseSealEngine('js', withSealer));
});

t.test('JS, and why, when the addon cannot seal', async (t) => {
  const c = chooseSealEngine('auto', older);
  t.equal(c.engine, 'js');
  t.match(c.why, /^falling back to JS: \/x\/netbeacon\.node has no NativeSealer \(an older build: rebuild with `npm run build:native`\)$/);
  t.match(chooseSealEngine('auto', missing), { engine: 'js', nativeUnavailable: /the addon is not built/ });
  t.match(chooseSealEngine('js', older), { engine: 'js', nativeUnavailable: /has no NativeSealer/ });
  t.throws(() => chooseSealEngine('native', older), {
    code: 'E_ENGINE_NATIVE',
    message: /the native engine was requested but cannot run: .*has no NativeSealer/,
  });
});

t.test('createSealer builds the engine named', async (t) => {
  t.equal(createSealer('js').engine, 'js');
  if (loadBinding().ok) t.equal(createSealer('native').engine, 'native');
  t.equal(chooseSealEngine('auto').engine, loadBinding().ok ? 'native' : 'js', 'with the real addon');
});
