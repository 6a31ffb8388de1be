/**
 * The fleet map in a real browser: Debian's Chromium, driven by
 * playwright-core, loads the page from a real fleet service seeded with a
 * known model (test/helpers/fleet-map.ts) and checks what it draws, the
 * evidence panel, the filters (also from a shared URL), search, history,
 * live updates without losing the view, the table, the exports, the read
 * token, and that the page sends nothing anywhere but its own server under
 * its Content-Security-Policy. Screenshots go to test/artifacts/.
 */
import { readFileSync } from 'node:fs';
import t, { type Test } from 'tap';
import type { Core, EdgeSingular } from 'cytoscape';
import type { Browser, Page } from 'playwright-core';
import { artifact, chromiumUnavailable, launchChromium } from '../helpers/browser';
import { rack3Report, startSeededFleet, type SeededFleet } from '../helpers/fleet-map';
import type { FleetTopology } from '../../src/fleet/model/types';
import { CONTENT_SECURITY_POLICY } from '../../src/fleet/web';

/** What the functions run in the page see (this file is type-checked without the DOM lib). */
type W = {
  netbeaconMap: { cy: Core; drawn: Promise<number> };
  cspViolations: string[];
  document: {
    documentElement: { dataset: Record<string, string | undefined> };
    addEventListener(type: 'securitypolicyviolation', f: (e: { violatedDirective: string; blockedURI: string }) => void): void;
  };
  navigator: { clipboard: { readText(): Promise<string> } };
};
const sid = (host: string, ifname: string, vid: number | null): string => `s${JSON.stringify([host, ifname, vid])}`;
const jid = (a: [string, string, number | null], b: [string, string, number | null]): string => `j${JSON.stringify([a, b])}`;

const why = chromiumUnavailable();
if (why) t.comment(`fleet map browser tests skipped: ${why}`);

interface Session {
  readonly page: Page;
  readonly requests: string[];
  readonly errors: string[];
}

async function open(browser: Browser, t: Test, url: string, before?: (page: Page) => Promise<unknown>): Promise<Session> {
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 }, acceptDownloads: true });
  t.teardown(() => context.close());
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: new URL(url).origin });
  const page = await context.newPage();
  page.setDefaultTimeout(60_000);
  const requests: string[] = [];
  const errors: string[] = [];
  page.on('request', (r) => requests.push(r.url()));
  page.on('pageerror', (e) => errors.push(`page error: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' && !/status of 401/.test(m.text())) errors.push(`console: ${m.text()}`);
  });
  // Runs before the page's own scripts, outside its CSP.
  await page.addInitScript(() => {
    const w = globalThis as unknown as W;
    w.cspViolations = [];
    w.document.addEventListener('securitypolicyviolation', (e) => w.cspViolations.push(`${e.violatedDirective} ${e.blockedURI}`));
  });
  await before?.(page);
  await page.goto(url);
  return { page, requests, errors };
}

const drawn = (page: Page): Promise<unknown> =>
  page.waitForFunction(() => (globalThis as unknown as W).document.documentElement.dataset.drawn === 'true', null, { timeout: 120_000 });

async function clickElement(page: Page, id: string): Promise<void> {
  const at = await page.evaluate((id) => {
    const cy = (globalThis as unknown as W).netbeaconMap.cy;
    const el = cy.getElementById(id);
    const p = el.isNode() ? el.renderedPosition() : (el as unknown as EdgeSingular).renderedMidpoint();
    const box = (cy.container() as unknown as { getBoundingClientRect(): { left: number; top: number } }).getBoundingClientRect();
    return { x: box.left + p.x, y: box.top + p.y };
  }, id);
  await page.mouse.click(at.x, at.y);
}

async function topology(fleet: SeededFleet): Promise<FleetTopology> {
  const res = await fetch(`${fleet.url}/api/v1/topology`);
  return (await res.json()) as FleetTopology;
}

t.test('the fleet map in Chromium', { skip: why ?? false, timeout: 600_000 }, async (t) => {
  const fleet = await startSeededFleet();
  t.teardown(() => fleet.stop());
  const browser = await launchChromium();
  t.teardown(() => browser.close());
  const model = await topology(fleet);
  const { page, requests, errors } = await open(browser, t, `${fleet.url}/`);
  await drawn(page);
  await page.screenshot({ path: artifact('fleet-map.png') });

  t.test('draws the server model: fabrics as groups, hosts in them, segments, joins as edges', async (t) => {
    const g = await page.evaluate(() => {
      const cy = (globalThis as unknown as W).netbeaconMap.cy;
      return {
        fabrics: cy.nodes('.fabric').map((n) => n.data('fabric') as string),
        hosts: cy.nodes('.host').map((n) => `${n.parent().first().data('fabric') as string} ${n.data('host') as string}`),
        segments: cy.nodes('.segment').map((n) => `${n.parent().first().id()} ${n.id()}`),
        edges: cy.edges().map((e) => e.id()),
      };
    });
    t.same(g.fabrics.sort(), model.fabrics.map((f) => f.name).sort(), 'one group per fabric');
    t.same(g.hosts.sort(), model.fabrics.flatMap((f) => f.hosts.map((h) => `${f.name} ${h}`)).sort(), 'each host inside each fabric it has a segment in');
    const segs = model.fabrics.flatMap((f) => f.segments.map((s) => `h${JSON.stringify([f.name, s.host])} ${sid(s.host, s.interface, s.vid)}`));
    t.same(g.segments.sort(), segs.sort(), 'each segment inside its host');
    t.same(
      g.edges.sort(),
      model.fabrics.flatMap((f) => f.joins.map((j) => jid([j.a.host, j.a.interface, j.a.vid], [j.b.host, j.b.interface, j.b.vid]))).sort(),
      'each join an edge',
    );
    t.ok(g.edges.length >= 4, 'the seeded model has joins');
  });

  t.test('marks the findings on the map and lists them', async (t) => {
    const classes = await page.evaluate(
      (ids) => ids.map((id) => (globalThis as unknown as W).netbeaconMap.cy.getElementById(id).classes()),
      [
        sid('rack1', 'eth0', 100),
        sid('node1', 'n0', null),
        sid('rack2', 'ens4', null),
        sid('node1', 'n1', null),
        sid('old1', 'eth0', null),
        `h${JSON.stringify([model.fabrics.find((f) => f.hosts.includes('old1'))!.name, 'old1'])}`,
        jid(['node1', 'n0', null], ['rack1', 'eth0', 100]),
      ],
    );
    t.ok(classes[0]!.includes('f-native_vlan_mismatch') && classes[1]!.includes('f-native_vlan_mismatch'), 'both ends of the native-VLAN mismatch');
    t.ok(classes[6]!.includes('f-native_vlan_mismatch'), 'and the join between them');
    t.ok(classes[2]!.includes('f-unknown_mac') && classes[3]!.includes('f-unknown_mac'), 'the segments that heard the unknown MAC');
    t.ok(classes[3]!.includes('f-duplicate_mac') && classes[4]!.includes('f-duplicate_mac'), 'both claimants of the duplicate MAC');
    t.ok(classes[4]!.includes('stale') && classes[5]!.includes('stale'), 'the stale host and its segment, greyed');
    const listed = await page.locator('#findings li').allTextContents();
    t.equal(listed.length, model.findings.length, 'every finding listed');
    for (const kind of ['native vlan mismatch', 'unknown mac', 'duplicate mac', 'stale host'])
      t.ok(
        listed.some((l) => l.includes(kind)),
        kind,
      );
  });

  t.test('clicking a segment shows its joins, hints, findings and MAAS placement', async (t) => {
    await clickElement(page, sid('rack1', 'eth0', 100));
    const panel = page.locator('#evidence');
    await panel.getByText('rack1/eth0 vid 100', { exact: false }).first().waitFor();
    const text = (await panel.textContent()) ?? '';
    t.match(text, /native-VLAN mismatch/);
    t.match(text, /on_remote_network/, 'the hint that joined it');
    t.match(text, /node1\/n0/, 'the other end');
    t.match(text, /MAAS placement/);
    const placement = model.placements.find((p) => p.host === 'rack1' && p.interface === 'eth0')!;
    t.ok(text.includes(placement.reason), 'the server’s reason for the placement, in its words');
    t.match(page.url(), /sel=/, 'the selection is in the URL');
    await page.screenshot({ path: artifact('fleet-map-segment.png') });
  });

  t.test('the first draw is the overview (no hints), sent early; the evidence waits for the full topology', async (t) => {
    const api = requests.filter((u) => u.includes('/api/v1/'));
    t.equal(api[0], `${fleet.url}/api/v1/topology?detail=overview`, 'the first API request: the overview');
    t.equal(api.filter((u) => u.endsWith('?detail=overview')).length, 1, 'once: the main script took prefetch.js’s GET');
    t.ok(requests.includes(`${fleet.url}/assets/prefetch.js`), 'prefetch.js, the page’s first script');
    t.ok(
      api.some((u) => u === `${fleet.url}/api/v1/topology`),
      'then the full topology',
    );
    t.equal(await page.evaluate(() => (globalThis as unknown as { netbeaconPrefetch?: unknown }).netbeaconPrefetch), undefined, 'taken');
    // The full topology held back 3 s: a segment selected by a link says it is loading, then shows the hints.
    const seg = sid('rack1', 'eth0', 100);
    let release: () => void = () => undefined;
    const held = new Promise<void>((r) => (release = r));
    const slow = await open(browser, t, `${fleet.url}/?sel=${encodeURIComponent(seg)}`, (p) =>
      p.route(
        (u) => u.pathname === '/api/v1/topology' && u.search === '',
        async (route) => {
          await held;
          await route.continue();
        },
      ),
    );
    await drawn(slow.page);
    const panel = slow.page.locator('#evidence');
    await panel.getByText('Loading the evidence').waitFor();
    t.same(
      await slow.page.evaluate(() => (globalThis as unknown as W).netbeaconMap.cy.elements(':selected').map((e) => e.id())),
      [seg],
      'the selection is drawn from the overview',
    );
    release();
    await panel.getByText('rack1/eth0 vid 100', { exact: false }).first().waitFor();
    t.match((await panel.textContent()) ?? '', /on_remote_network/, 'the hints, once the full topology is in');
    t.same(slow.errors, []);
  });

  t.test('clicking an edge shows the hints that prove the join', async (t) => {
    await clickElement(page, jid(['rack1', 'eth0', null], ['rack2', 'ens3', null]));
    const panel = page.locator('#evidence');
    await panel.getByText('the hints that prove this join').waitFor();
    const rows = await panel.locator('table.hints tbody tr').allTextContents();
    t.equal(rows.length, 2, 'one hint from each side');
    t.ok(rows.some((r) => r.startsWith('rack1') && r.includes('on_remote_network')) && rows.some((r) => r.startsWith('rack2')));
  });

  t.test('a filter by host, kept in the URL, and the table view', async (t) => {
    await page.fill('#f-host', 'rack2');
    await page.press('#f-host', 'Enter');
    await page.waitForURL(/host=rack2/);
    const visible = await page.evaluate(() =>
      (globalThis as unknown as W).netbeaconMap.cy
        .nodes('.segment')
        .filter((n) => !n.hasClass('hidden'))
        .map((n) => n.data('host') as string),
    );
    t.ok(visible.length >= 2 && visible.every((h) => h === 'rack2'), `only rack2's segments are shown (${visible.join(', ')})`);
    await page.screenshot({ path: artifact('fleet-map-filtered.png') });
    await page.click('#tab-table');
    await page.waitForURL(/view=table/);
    const rows = await page.locator('#segment-table tbody tr').count();
    t.equal(rows, visible.length, 'the table shows what the map shows');
    t.equal(await page.locator('#segment-table caption').count(), 1, 'the table has a caption');
    t.equal(await page.locator('#segment-table thead th[scope=col]').count(), 8, 'and column headers');
    await page.click('#copy-table');
    const clip = await page.evaluate(() => (globalThis as unknown as W).navigator.clipboard.readText());
    t.match(clip, /^Fabric\tHost\tInterface\tVID/, 'copied as tab-separated text');
    t.equal(clip.trim().split('\n').length, rows + 1, 'a header and one line per row');
    await page.screenshot({ path: artifact('fleet-map-table.png') });

    // The URL alone brings the same view back.
    const shared = await open(browser, t, page.url());
    await drawn(shared.page);
    t.equal(await shared.page.locator('#segment-table tbody tr').count(), rows, 'a shared URL opens the same filtered table');
    t.equal(await shared.page.inputValue('#f-host'), 'rack2');

    await page.click('#tab-map');
    await page.click('#clear-filters');
    await page.waitForURL((u) => !u.search.includes('host='));
  });

  t.test('search marks what matches, by name or MAC', async (t) => {
    await page.fill('#q', '52:54:00:0b:00:01');
    await page.locator('#search-count').getByText('1 match').waitFor();
    const matched = await page.evaluate(() => (globalThis as unknown as W).netbeaconMap.cy.nodes('.match').map((n) => n.id()));
    t.same(matched, [sid('rack2', 'ens3', null)], 'rack2/ens3 has that MAC');
    await page.fill('#q', '');
  });

  t.test('the history panel: picking a change shows where the segment was', async (t) => {
    const res = await fetch(`${fleet.url}/api/v1/history`);
    const { changes } = (await res.json()) as { changes: Array<{ id: number; kind: string; before: string | null; host: string; interface: string | null }> };
    const move = changes.find((c) => c.kind === 'segment_fabric' && c.before !== null && model.fabrics.some((f) => f.name === c.before));
    t.ok(move, 'the seeded history has a move to a fabric that still exists');
    if (!move) return;
    await page.click(`#history button[data-id="${move.id}"]`);
    await page.locator('#history-note').getByText('was on', { exact: false }).waitFor();
    const ghost = await page.evaluate(() => {
      const cy = (globalThis as unknown as W).netbeaconMap.cy;
      const g = cy.getElementById('ghost');
      return { parent: g.nonempty() ? g.parent().first().id() : null, selected: cy.elements(':selected').map((e) => e.id()) };
    });
    t.equal(ghost.parent, `f${JSON.stringify(move.before)}`, 'a ghost of the segment inside the fabric it was on');
    t.ok(ghost.selected[0]?.includes(JSON.stringify(move.host)), 'and the segment selected where it is now');
    await page.screenshot({ path: artifact('fleet-map-history.png') });
  });

  t.test('a live update keeps the zoom, the pan and the selection', async (t) => {
    // The history pick centred another segment: bring everything into view to click.
    await page.click('#fit');
    await clickElement(page, sid('rack1', 'eth0', null));
    const before = await page.evaluate(() => {
      const cy = (globalThis as unknown as W).netbeaconMap.cy;
      cy.zoom(1.25);
      cy.pan({ x: 40, y: 25 });
      return {
        zoom: cy.zoom(),
        pan: cy.pan(),
        selected: cy.elements(':selected').map((e) => e.id()),
        updates: (globalThis as unknown as W).document.documentElement.dataset.updates ?? '0',
      };
    });
    t.same(before.selected, [sid('rack1', 'eth0', null)]);
    await fleet.post(rack3Report());
    await page.waitForFunction((id) => (globalThis as unknown as W).netbeaconMap.cy.getElementById(id).nonempty(), sid('rack3', 'p0', null), {
      timeout: 60_000,
    });
    const after = await page.evaluate(() => {
      const cy = (globalThis as unknown as W).netbeaconMap.cy;
      return {
        zoom: cy.zoom(),
        pan: cy.pan(),
        selected: cy.elements(':selected').map((e) => e.id()),
        updates: (globalThis as unknown as W).document.documentElement.dataset.updates ?? '0',
      };
    });
    t.ok(Number(after.updates) > Number(before.updates), 'the map took an update');
    t.same(after.zoom, before.zoom, 'zoom kept');
    t.same(after.pan, before.pan, 'pan kept');
    t.same(after.selected, before.selected, 'selection kept');
    // The panel is rendered after the update is applied, which may end after the new element is in.
    await page.locator('#evidence').getByText('rack3/p0', { exact: false }).first().waitFor();
    t.match((await page.locator('#evidence').textContent()) ?? '', /rack3\/p0/, 'the evidence panel shows the new join');
    await page.screenshot({ path: artifact('fleet-map-live.png') });
  });

  t.test('saves the map as PNG and SVG', async (t) => {
    const [png] = await Promise.all([page.waitForEvent('download'), page.click('#save-png')]);
    await png.saveAs(artifact('fleet-map-export.png'));
    const pngBytes = readFileSync(artifact('fleet-map-export.png'));
    t.same([...pngBytes.subarray(1, 4)], [0x50, 0x4e, 0x47], 'a PNG');
    t.ok(pngBytes.length > 5000, `of ${pngBytes.length} bytes`);
    const [svg] = await Promise.all([page.waitForEvent('download'), page.click('#save-svg')]);
    await svg.saveAs(artifact('fleet-map-export.svg'));
    const text = readFileSync(artifact('fleet-map-export.svg'), 'utf8');
    t.match(text, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
    for (const s of ['rack1', 'rack2', 'node1', 'eth0 · 100', '<line']) t.ok(text.includes(s), `the SVG has ${s}`);
  });

  t.test('sends nothing anywhere but its own server, under a strict CSP', async (t) => {
    const res = await fetch(`${fleet.url}/`);
    t.equal(res.headers.get('content-security-policy'), CONTENT_SECURITY_POLICY);
    t.match(CONTENT_SECURITY_POLICY, /default-src 'none'/);
    t.notMatch(CONTENT_SECURITY_POLICY, /unsafe|https?:/, 'no unsafe-inline, no other host');
    const foreign = requests.filter((u) => !u.startsWith(`${fleet.url}/`) && !u.startsWith('blob:') && !u.startsWith('data:'));
    t.same(foreign, [], `every request went to ${fleet.url} (${requests.length} requests)`);
    t.ok(
      requests.some((u) => u.endsWith('/api/v1/topology')),
      'the page polled the topology',
    );
    t.same(await page.evaluate(() => (globalThis as unknown as W).cspViolations), [], 'no CSP violation');
    t.same(errors, [], 'no error in the page');
  });
});

t.test('the read token', { skip: why ?? false, timeout: 300_000 }, async (t) => {
  const token = 'a-read-token-of-some-length-0123';
  const fleet = await startSeededFleet({ readToken: token });
  t.teardown(() => fleet.stop());
  const browser = await launchChromium();
  t.teardown(() => browser.close());
  const api = await fetch(`${fleet.url}/api/v1/topology`);
  t.equal(api.status, 401, 'the API needs the token');
  t.equal((await fetch(`${fleet.url}/`)).status, 200, 'the page (no data in it) does not');

  const asked = await open(browser, t, `${fleet.url}/`);
  await asked.page.locator('#token-form').waitFor({ state: 'visible' });
  t.match((await asked.page.textContent('#status')) ?? '', /read token/);
  await asked.page.fill('#token', token);
  await asked.page.click('#token-form button');
  await drawn(asked.page);
  t.ok(await asked.page.evaluate(() => (globalThis as unknown as W).netbeaconMap.cy.nodes('.segment').length > 0), 'the map draws once the token is given');

  const linked = await open(browser, t, `${fleet.url}/#token=${token}`);
  await drawn(linked.page);
  t.notMatch(linked.page.url(), /token/, 'a token in the fragment is taken off the address');
  t.same(linked.errors, []);
});
