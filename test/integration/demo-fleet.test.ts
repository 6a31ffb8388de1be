/**
 * `netbeacon demo --fleet` end to end (root, namespaces, Chromium): the
 * demo's agents report over a Unix socket to a fleet service whose map is
 * on 127.0.0.1 only; the map drawn in Chromium has the demo's hosts and
 * fabrics; Ctrl-C removes everything. Its screenshot is the README's
 * (test/artifacts/fleet-map-demo.png, copied to docs/fleet-map.png).
 */
import { spawn, spawnSync } from 'node:child_process';
import t from 'tap';
import type { Core } from 'cytoscape';
import { netnsUnavailable } from '../../src/lab/netns';
import { artifact, chromiumUnavailable, launchChromium } from '../helpers/browser';
import { cliCommand } from '../helpers/cli';

type W = { netbeaconMap: { cy: Core }; document: { documentElement: { dataset: Record<string, string | undefined> } } };

/** This demo's namespaces (the Lab names them nb-demo-PID-…), not those of another run on the machine. */
const demoNamespaces = (pid: number | undefined): string[] =>
  spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' })
    .stdout.split('\n')
    .map((l) => l.split(' ')[0]!)
    .filter((n) => n.startsWith(`nb-demo-${pid}-`));

const why = netnsUnavailable() ?? chromiumUnavailable();
if (why) t.comment(`demo --fleet skipped: ${why}`);

t.test('demo --fleet: the map on 127.0.0.1 draws the demo fleet; Ctrl-C removes it all', { skip: why ?? false, timeout: 600_000 }, async (t) => {
  const [node, main] = cliCommand();
  const child = spawn(node!, [main!, 'demo', '--fleet', '--fleet-port', '0', '--timeout', '120'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  let stdout = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  t.teardown(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setInterval(() => {
      const m = /The fleet map: (http:\/\/127\.0\.0\.1:\d+\/)/.exec(stderr);
      if (m) {
        clearInterval(timer);
        resolve(m[1]!);
      } else if (child.exitCode !== null) {
        clearInterval(timer);
        reject(new Error(`the demo exited ${child.exitCode}: ${stderr.slice(-2000)}`));
      }
    }, 250);
  });
  t.match(stderr, /agents report to unix:\//, 'the agents report over a Unix socket');
  t.ok(demoNamespaces(child.pid).length > 0, 'the demo runs in namespaces named for its pid');
  t.match(stdout, /rack1/, 'the demo printed its report first');

  const browser = await launchChromium();
  t.teardown(() => browser.close());
  const page = await browser.newPage({ viewport: { width: 1280, height: 760 } });
  await page.goto(url);
  await page.waitForFunction(() => (globalThis as unknown as W).document.documentElement.dataset.drawn === 'true', null, { timeout: 120_000 });
  const drawn = await page.evaluate(() => {
    const cy = (globalThis as unknown as W).netbeaconMap.cy;
    return {
      hosts: [...new Set(cy.nodes('.host').map((n) => n.data('host') as string))].sort(),
      fabrics: cy.nodes('.fabric').length,
      joins: cy.edges().length,
    };
  });
  t.same(drawn.hosts, ['node1', 'rack1', 'rack2'], 'every demo host is on the map');
  t.ok(drawn.fabrics >= 2, `the two bridges are fabrics (${drawn.fabrics})`);
  t.ok(drawn.joins >= 3, `joined by the hints (${drawn.joins})`);
  await page.screenshot({ path: artifact('fleet-map-demo.png') });

  child.kill('SIGINT');
  t.equal(await exited, 0, 'Ctrl-C ends the demo with exit 0');
  t.same(demoNamespaces(child.pid), [], 'no demo namespace left');
  t.match(stderr, /SIGINT: removing the demo network and the fleet service/);
});
