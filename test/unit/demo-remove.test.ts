import t from 'tap';
import { spawn } from 'node:child_process';
import { demoOwnerPid, isRunningDemo, planRemoval } from '../../src/demo/network';

t.test('demo names carry the pid of the demo that made them', async (t) => {
  t.equal(demoOwnerPid('nb-demo-4242-0-h1'), 4242);
  t.equal(demoOwnerPid('netbeacon-demo-77-AbC123'), 77);
  t.equal(demoOwnerPid('netbeacon-demo-AbC123'), undefined, 'an older directory name has none');
  t.equal(demoOwnerPid('nb-test-4242-0-h1'), undefined, 'not a demo');
});

t.test('--remove takes what --keep left and leaves a running demo alone', async (t) => {
  const running = new Set([100]);
  const plan = planRemoval(
    ['nb-demo-100-0-sw', 'nb-demo-100-0-h1', 'nb-demo-200-0-sw', 'nb-demo-200-1-h2'],
    ['netbeacon-demo-100-aaaa', 'netbeacon-demo-200-bbbb', 'netbeacon-demo-cccc'],
    (pid) => running.has(pid),
  );
  t.same(plan.namespaces, ['nb-demo-200-0-sw', 'nb-demo-200-1-h2'], "the exited demo's namespaces go");
  t.same(plan.dirs, ['netbeacon-demo-200-bbbb', 'netbeacon-demo-cccc'], 'its directory, and one without a pid, go');
  t.same(
    [...plan.running],
    [[100, { namespaces: ['nb-demo-100-0-sw', 'nb-demo-100-0-h1'], dirs: ['netbeacon-demo-100-aaaa'] }]],
    'the running one is kept and named',
  );
  t.same(planRemoval([], []), { namespaces: [], dirs: [], running: new Map() });
});

t.test('a running demo is a live process whose arguments say demo, not --remove', async (t) => {
  t.notOk(isRunningDemo(process.pid), 'this process (the --remove itself) is not');
  t.notOk(isRunningDemo(2 ** 22 + 12345), 'a pid that does not exist is not');
  const fake = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 30000)', 'demo'], { stdio: 'ignore' });
  const remover = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 30000)', 'demo', '--remove'], { stdio: 'ignore' });
  const other = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 30000)', 'agent'], { stdio: 'ignore' });
  t.teardown(() => [fake, remover, other].forEach((c) => c.kill('SIGKILL')));
  await new Promise((r) => setTimeout(r, 200));
  t.ok(isRunningDemo(fake.pid!), 'a process run as … demo is');
  t.notOk(isRunningDemo(remover.pid!), 'a demo --remove is not');
  t.notOk(isRunningDemo(other.pid!), 'another command is not');
});
