/**
 * A large fleet map in Chromium: six racks of twenty hosts (732 nodes, over
 * graph.ts's FCOSE_MAX_NODES) take the shelf packing and the level of
 * detail of a large map. The overview holds every fabric, host and segment
 * with its findings, and holds the joins back; zooming in (or selecting a
 * join, or exporting) adds them, and the segment labels are drawn once
 * they are readable. Screenshots go to test/artifacts/.
 */
import { readFileSync } from 'node:fs';
import t, { type Test } from 'tap';
import type { Core, EdgeSingular } from 'cytoscape';
import type { Browser, Page } from 'playwright-core';
import { artifact, chromiumUnavailable, launchChromium } from '../helpers/browser';
import { rackHost, startRackFleet, type SeededFleet } from '../helpers/fleet-map';
import type { FleetTopology } from '../../src/fleet/model/types';
import { EDGES_ZOOM } from '../../web/src/style';

type W = {
  netbeaconMap: { cy: Core; graph: { large: boolean; edgesShown: boolean } };
  document: {
    documentElement: { dataset: Record<string, string | undefined> };
    querySelector(s: string): { getContext(k: '2d'): { getImageData(x: number, y: number, w: number, h: number): { data: Uint8ClampedArray } } } | null;
  };
};
const sid = (host: string, ifname: string, vid: number | null): string => `s${JSON.stringify([host, ifname, vid])}`;
const jid = (a: [string, string, number | null], b: [string, string, number | null]): string => `j${JSON.stringify([a, b])}`;
const RACKS = 6;
const PER_RACK = 20;

const why = chromiumUnavailable();
if (why) t.comment(`fleet map browser tests skipped: ${why}`);

async function topology(fleet: SeededFleet): Promise<FleetTopology> {
  return (await (await fetch(`${fleet.url}/api/v1/topology`)).json()) as FleetTopology;
}

const joinIds = (m: FleetTopology): string[] =>
  m.fabrics.flatMap((f) => f.joins.map((j) => jid([j.a.host, j.a.interface, j.a.vid], [j.b.host, j.b.interface, j.b.vid]))).sort();

async function open(browser: Browser, t: Test, url: string): Promise<{ page: Page; errors: string[] }> {
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 }, acceptDownloads: true });
  t.teardown(() => context.close());
  const page = await context.newPage();
  page.setDefaultTimeout(60_000);
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(`page error: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(`console: ${m.text()}`);
  });
  await page.goto(url);
  await page.waitForFunction(() => (globalThis as unknown as W).document.documentElement.dataset.drawn === 'true', null, { timeout: 120_000 });
  return { page, errors };
}

/** Near-white pixels drawn inside a segment (2 px in from its edge): its label, white on the segment's colour. */
function labelPixels(page: Page, id: string): Promise<number> {
  return page.evaluate((id) => {
    const w = globalThis as unknown as W;
    const bb = w.netbeaconMap.cy.getElementById(id).renderedBoundingBox({ includeLabels: false, includeOverlays: false });
    const canvas = w.document.querySelector('canvas[data-id="layer2-node"]');
    if (!canvas || bb.w < 8 || bb.h < 8) return 0;
    const px = canvas.getContext('2d').getImageData(Math.round(bb.x1 + 2), Math.round(bb.y1 + 2), Math.round(bb.w - 4), Math.round(bb.h - 4)).data;
    let white = 0;
    for (let i = 0; i < px.length; i += 4) if (px[i]! > 220 && px[i + 1]! > 220 && px[i + 2]! > 220 && px[i + 3]! > 200) white++;
    return white;
  }, id);
}

t.test('a large fleet map in Chromium', { skip: why ?? false, timeout: 600_000 }, async (t) => {
  const fleet = await startRackFleet(RACKS, PER_RACK);
  t.teardown(() => fleet.stop());
  const browser = await launchChromium();
  t.teardown(() => browser.close());
  const model = await topology(fleet);
  const { page, errors } = await open(browser, t, `${fleet.url}/`);
  await page.screenshot({ path: artifact('fleet-map-large.png') });

  await t.test('the overview: every fabric, host and segment with its findings; the joins held back', async (t) => {
    const g = await page.evaluate(() => {
      const m = (globalThis as unknown as W).netbeaconMap;
      return {
        large: m.graph.large,
        edgesShown: m.graph.edgesShown,
        zoom: m.cy.zoom(),
        fabrics: m.cy.nodes('.fabric').length,
        hosts: m.cy.nodes('.host').map((n) => `${n.data('owner') as string} ${n.data('host') as string}`),
        segments: m.cy.nodes('.segment').map((n) => n.id()),
        edges: m.cy.edges().length,
        unknown: m.cy.nodes('.segment.f-unknown_mac').length,
      };
    });
    t.ok(g.large, 'the large map: shelf packing, boxes for fabrics and hosts');
    t.equal(g.fabrics, model.fabrics.length, 'one box per fabric');
    t.same(g.hosts.sort(), model.fabrics.flatMap((f) => f.hosts.map((h) => `f${JSON.stringify(f.name)} ${h}`)).sort(), 'each host in each fabric it is on');
    t.same(g.segments.sort(), model.fabrics.flatMap((f) => f.segments.map((s) => sid(s.host, s.interface, s.vid))).sort(), 'every segment');
    t.equal(g.unknown, model.findings.filter((f) => f.kind === 'unknown_mac').flatMap((f) => f.segments).length, 'the unknown-MAC findings marked');
    t.ok(g.unknown >= RACKS * PER_RACK, 'on every trunk');
    t.ok(g.zoom < EDGES_ZOOM, `the whole fleet fits at zoom ${g.zoom.toFixed(3)}, below ${EDGES_ZOOM}`);
    t.equal(g.edges, 0, 'the joins are not drawn from afar');
    t.notOk(g.edgesShown);
  });

  await t.test('a live update while the joins are held back', async (t) => {
    await fleet.post(rackHost(0, PER_RACK, PER_RACK + 1));
    await page.waitForFunction((id) => (globalThis as unknown as W).netbeaconMap.cy.getElementById(id).nonempty(), sid('r00h20', 'eth0', null), {
      timeout: 60_000,
    });
    t.notOk(await page.evaluate(() => (globalThis as unknown as W).netbeaconMap.graph.edgesShown), 'still held back');
  });

  await t.test('zooming in adds the joins in view and draws the labels', async (t) => {
    const seg = sid('r00h00', 'eth0', null);
    t.equal(await labelPixels(page, seg), 0, 'no label at the overview (the segment is a few pixels)');
    await page.evaluate((id) => {
      const cy = (globalThis as unknown as W).netbeaconMap.cy;
      cy.zoom({ level: 1.5, renderedPosition: cy.getElementById(id).renderedPosition() });
    }, seg);
    const now = await topology(fleet);
    const all = joinIds(now);
    const g = await page.evaluate(() => {
      const cy = (globalThis as unknown as W).netbeaconMap.cy;
      const ext = cy.extent();
      const meets = (f: string): boolean => {
        const bb = cy.getElementById(`f${JSON.stringify(f)}`).boundingBox({});
        return bb.x2 >= ext.x1 && bb.x1 <= ext.x2 && bb.y2 >= ext.y1 && bb.y1 <= ext.y2;
      };
      return { edges: cy.edges().map((e) => e.id()), outOfView: cy.edges().filter((e) => !meets(e.data('fabric') as string)).length };
    });
    t.ok(g.edges.length > 0 && g.edges.length < all.length, `the joins of the fabrics in view: ${g.edges.length} of ${all.length}`);
    t.equal(g.outOfView, 0, 'none of a fabric out of view');
    t.ok(
      g.edges.every((id) => all.includes(id)),
      'each a join of the current model',
    );
    t.ok(
      g.edges.includes(jid(['r00h00', 'eth0', null], ['r00h20', 'eth0', null])) || g.edges.includes(jid(['r00h20', 'eth0', null], ['r00h00', 'eth0', null])),
      'the live update’s join',
    );
    await page.waitForFunction(
      (id) => {
        // labelPixels, in the page, polled until the frame with the labels is drawn
        const w = globalThis as unknown as W;
        const bb = w.netbeaconMap.cy.getElementById(id).renderedBoundingBox({ includeLabels: false, includeOverlays: false });
        const px = w.document
          .querySelector('canvas[data-id="layer2-node"]')!
          .getContext('2d')
          .getImageData(Math.round(bb.x1 + 2), Math.round(bb.y1 + 2), Math.round(bb.w - 4), Math.round(bb.h - 4)).data;
        let white = 0;
        for (let i = 0; i < px.length; i += 4) if (px[i]! > 220 && px[i + 1]! > 220 && px[i + 2]! > 220 && px[i + 3]! > 200) white++;
        return white > 20;
      },
      seg,
      { timeout: 30_000 },
    );
    t.ok((await labelPixels(page, seg)) > 20, 'the label is drawn inside the segment');
    await page.screenshot({ path: artifact('fleet-map-large-zoomed.png') });
  });

  await t.test('panning brings in the joins of the fabrics that come into view', async (t) => {
    const last = model.fabrics[model.fabrics.length - 1]!;
    const before = await page.evaluate((f) => (globalThis as unknown as W).netbeaconMap.cy.edges(`[fabric = ${JSON.stringify(f)}]`).length, last.name);
    t.equal(before, 0, `${last.name} is out of view, its joins not added`);
    await page.evaluate((f) => {
      const cy = (globalThis as unknown as W).netbeaconMap.cy;
      cy.center(cy.getElementById(`f${JSON.stringify(f)}`));
    }, last.name);
    const after = await page.evaluate((f) => (globalThis as unknown as W).netbeaconMap.cy.edges(`[fabric = ${JSON.stringify(f)}]`).length, last.name);
    t.equal(after, last.joins.length, `its ${last.joins.length} joins once it is`);
  });

  await t.test('clicking a join shows the hints that prove it', async (t) => {
    const id = await page.evaluate(() => (globalThis as unknown as W).netbeaconMap.cy.edges().first().id());
    const at = await page.evaluate((id) => {
      const cy = (globalThis as unknown as W).netbeaconMap.cy;
      const e = cy.getElementById(id) as unknown as EdgeSingular;
      cy.center(e);
      const p = e.renderedMidpoint();
      const box = (cy.container() as unknown as { getBoundingClientRect(): { left: number; top: number } }).getBoundingClientRect();
      return { x: box.left + p.x, y: box.top + p.y };
    }, id);
    await page.mouse.click(at.x, at.y);
    await page.locator('#evidence').getByText('the hints that prove this join').waitFor();
    const selected = await page.evaluate(() => (globalThis as unknown as W).netbeaconMap.cy.elements(':selected').map((e) => e.isEdge()));
    t.same(selected, [true], 'a join is selected');
  });

  await t.test('a shared link that selects a join opens with the joins', async (t) => {
    const join = joinIds(model)[0]!;
    const shared = await open(browser, t, `${fleet.url}/?sel=${encodeURIComponent(join)}`);
    const s = await shared.page.evaluate(() => {
      const m = (globalThis as unknown as W).netbeaconMap;
      return { shown: m.graph.edgesShown, selected: m.cy.elements(':selected').map((e) => e.id()) };
    });
    t.ok(s.shown);
    t.same(s.selected, [join]);
    await shared.page.locator('#evidence').getByText('the hints that prove this join').waitFor();
    t.same(shared.errors, []);
  });

  await t.test('an export from the overview holds the joins', async (t) => {
    const fresh = await open(browser, t, `${fleet.url}/`);
    const [svg] = await Promise.all([fresh.page.waitForEvent('download'), fresh.page.click('#save-svg')]);
    await svg.saveAs(artifact('fleet-map-large-export.svg'));
    const svgText = readFileSync(artifact('fleet-map-large-export.svg'), 'utf8');
    const lines = svgText.match(/<line /g)?.length ?? 0;
    const now = await topology(fleet);
    t.equal(lines, joinIds(now).length, 'one line per join');
    // The labels of fabrics never seen up close, in their own styles: white 10 px on the segments, 11 px on the hosts, 13 px on the fabrics.
    const count = (re: RegExp): number => svgText.match(re)?.length ?? 0;
    t.equal(
      count(/<text [^>]*font-size="10" [^>]*fill="rgb\(255,255,255\)"/g),
      now.fabrics.reduce((n, f) => n + f.segments.length, 0),
      'every segment labelled',
    );
    t.equal(
      count(/<text [^>]*font-size="11" /g),
      now.fabrics.reduce((n, f) => n + f.hosts.length, 0),
      'every host labelled',
    );
    t.equal(count(/<text [^>]*font-size="13" /g), now.fabrics.length, 'every fabric labelled');
    t.same(fresh.errors, []);
  });

  t.same(errors, [], 'no error in the page');
});
