/**
 * fleet-map: the time a browser takes to draw a 1,000-host fleet, from
 * navigation to the map's first full draw (the page's own
 * `netbeacon:map-drawn` mark: HTML, script, the API's JSON, the layout and
 * the first rendered frame). A real fleet service on loopback (SQLite in
 * the bench's temporary directory), filled with signed reports over HTTP,
 * and Debian's Chromium through playwright-core, a fresh browser context
 * per run. Goal: < 3 s.
 *
 * The first full draw of a map this large is its overview: every fabric,
 * host and segment, with the findings marked, drawn from the document the
 * page's prefetch GETs (`?detail=overview`, the topology less the joins'
 * hints); the full document follows after the draw, for the evidence. The joins are added when the
 * user zooms in to where labels are readable (web/src/style.ts,
 * EDGES_ZOOM, which the page gives as `graph.edgesZoom`), those of the fabrics in view; the bench then zooms in to that level and reports the time
 * until that frame too (`joins on zoom`), beside the first draw's.
 *
 * The fleet: 50 racks of 20 hosts. Each host's eth0 is on its rack's
 * network and hears the 19 others (on_remote_network); its eth1 is a trunk
 * carrying VLANs 100 and 200 on which it hears its rack's MAAS controller,
 * which reports to no fleet (an unknown MAC, and peer joins). 100 fabrics,
 * 4,000 segments, about 12,000 joins.
 */
import { existsSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { FleetService } from '../../src/fleet/service';
import { deriveFleetKey, signReport, SIGNATURE_HEADER } from '../../src/fleet/model/auth';
import type { BenchContext } from '../lib/context';
import { skippedRow, summarize, type CaseResult } from '../lib/result';

const CHROMIUM = process.env.NETBEACON_CHROMIUM ?? '/usr/bin/chromium';
const RACKS = 50;
const PER_RACK = 20;
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** What the functions run in the page see (the bench is type-checked without the DOM lib). */
interface PageGlobals {
  document: { documentElement: { dataset: Record<string, string | undefined> } };
  performance: {
    now(): number;
    getEntriesByName(name: string): Array<{ startTime: number }>;
    getEntriesByType(type: 'mark'): Array<{ name: string; startTime: number }>;
  };
  netbeaconMap: {
    cy: {
      nodes(): { length: number };
      edges(): { length: number };
      width(): number;
      height(): number;
      zoom(o: { level: number; renderedPosition: { x: number; y: number } }): void;
    };
    graph: { large: boolean; edgesShown: boolean; edgesZoom?: number };
  };
  requestAnimationFrame(f: () => void): void;
}

const mac = (rack: number, host: number, port: number): string =>
  `52:54:${[rack >> 8, rack & 255, host, port].map((b) => b.toString(16).padStart(2, '0')).join(':')}`;

/** The reports of the fleet described above. */
export function fleetReports(racks = RACKS, perRack = PER_RACK, nowMs = Date.now()): Array<Record<string, unknown>> {
  const out: Array<Record<string, unknown>> = [];
  for (let r = 0; r < racks; r++) {
    for (let h = 0; h < perRack; h++) {
      const hints: Array<Record<string, unknown>> = [];
      for (let o = 0; o < perRack; o++)
        if (o !== h) hints.push({ hint: 'on_remote_network', ifname: 'eth0', related_ifname: 'eth0', related_mac: mac(r, o, 0) });
      hints.push({ hint: 'on_remote_network', ifname: 'eth1', related_ifname: 'maas0', related_mac: mac(r, 250, 9) });
      out.push({
        version: 1,
        host: `r${String(r).padStart(2, '0')}h${String(h).padStart(2, '0')}`,
        seq: 1,
        instance: '01JDR3X9W8K4N1M2P3Q4R5S6T7',
        time: nowMs / 1000,
        period_seconds: 30,
        agent: { version: '0.1.0', engine: 'native' },
        interfaces: [
          { name: 'eth0', mac: mac(r, h, 0), mtu: 1500, type: 'physical', addresses: [`10.${r}.0.${h + 1}/24`], vids: [] },
          { name: 'eth1', mac: mac(r, h, 1), mtu: 9000, type: 'physical', addresses: [], vids: [100, 200] },
        ],
        hints,
        peers: [],
        counters: {},
      });
    }
  }
  return out;
}

function post(url: string, key: Uint8Array, body: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${url}/api/v1/reports`,
      { method: 'POST', headers: { 'content-type': 'application/json', [SIGNATURE_HEADER]: signReport(key, body) } },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

export async function runFleetMap(ctx: BenchContext): Promise<CaseResult[]> {
  const unit = 'ms to first full draw';
  if (!existsSync(CHROMIUM)) return [skippedRow('fleet-map', 'chromium', unit, `skipped: ${CHROMIUM} is not installed (apt-get install chromium)`)];
  const key = deriveFleetKey(Buffer.from('the fleet-map bench secret'));
  const service = await FleetService.start({
    db: { kind: 'sqlite', location: join(ctx.tmp, 'fleet-map.db'), display: 'sqlite:bench' },
    listen: { kind: 'tcp', host: '127.0.0.1', port: 0 },
    fleetKey: key,
  });
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ARGS, timeout: 120_000 }).catch(async (err: Error) => {
    await service.stop();
    throw err;
  });
  try {
    const url = `http://${service.address}`;
    const reports = fleetReports();
    for (const r of reports) {
      const status = await post(url, key, JSON.stringify(r));
      if (status !== 200) throw new Error(`a report was answered ${status}`);
    }
    await service.refresh();
    const res = await fetch(`${url}/api/v1/topology`);
    const body = Buffer.from(await res.arrayBuffer());
    const bytes = body.byteLength;
    const joins = (JSON.parse(body.toString('utf8')) as { fabrics: Array<{ joins: unknown[] }> }).fabrics.reduce((n, f) => n + f.joins.length, 0);
    const overviewBytes = (await (await fetch(`${url}/api/v1/topology?detail=overview`)).arrayBuffer()).byteLength;
    ctx.log(
      `fleet-map: ${reports.length} hosts reported; the topology is ${(bytes / 1e6).toFixed(1)} MB, its overview (what the first draw fetches) ${(overviewBytes / 1e6).toFixed(1)} MB`,
    );
    const runs = ctx.opts.quick ? 1 : ctx.opts.runs;
    const samples: number[] = [];
    const busy: number[] = [];
    const zoomMs: number[] = [];
    const cpu: number[] = [];
    let edgesZoom = NaN;
    let shape: Record<string, unknown> = {};
    for (let i = 0; i < runs; i++) {
      const context = await browser.newContext({ viewport: { width: 1600, height: 1000 } });
      try {
        const page = await context.newPage();
        // The page's main-thread busy time, beside the wall clock: on a loaded machine the wall clock is mostly waiting for a core.
        const cdp = await context.newCDPSession(page);
        await cdp.send('Performance.enable');
        await page.goto(`${url}/`);
        await page.waitForFunction(() => (globalThis as unknown as PageGlobals).document.documentElement.dataset.drawn === 'true', null, { timeout: 300_000 });
        const m = await page.evaluate(() => {
          const w = globalThis as unknown as PageGlobals;
          const mark = w.performance.getEntriesByName('netbeacon:map-drawn')[0];
          const phases = w.performance.getEntriesByType('mark').map((e) => `${e.name.replace('netbeacon:', '')} ${Math.round(e.startTime)}`);
          return {
            phases,
            ms: mark ? mark.startTime : NaN,
            nodes: w.netbeaconMap.cy.nodes().length,
            edges: w.netbeaconMap.cy.edges().length,
            large: w.netbeaconMap.graph.large,
          };
        });
        // Read before the zoom below: the first draw's. ThreadTime is the main thread's CPU time, which
        // another process's load does not inflate as it does the wall clock and TaskDuration.
        const metrics = (await cdp.send('Performance.getMetrics')).metrics;
        const metric = (name: string): number => Math.round(1000 * (metrics.find((x) => x.name === name)?.value ?? NaN));
        const busyMs = metric('TaskDuration');
        const cpuMs = metric('ThreadTime');
        busy.push(busyMs);
        cpu.push(cpuMs);
        // Zooming in to where the joins are drawn: until the second frame after it, as for map-drawn.
        // (A page without held-back joins, as before they were, gives no edgesZoom: nothing to measure.)
        const zoom = await page.evaluate(async () => {
          const w = globalThis as unknown as PageGlobals;
          const cy = w.netbeaconMap.cy;
          const level = w.netbeaconMap.graph.edgesZoom;
          if (level === undefined) return { ms: NaN, edges: cy.edges().length, level: NaN };
          const t0 = w.performance.now();
          cy.zoom({ level, renderedPosition: { x: cy.width() / 2, y: cy.height() / 2 } });
          for (let f = 0; f < 2; f++) await new Promise<void>((r) => w.requestAnimationFrame(r));
          return { ms: w.performance.now() - t0, edges: cy.edges().length, level };
        });
        if (m.large && Number.isFinite(zoom.level) && zoom.edges === 0) throw new Error(`zooming in to ${zoom.level} added no joins`);
        if (Number.isFinite(zoom.ms)) zoomMs.push(Math.round(zoom.ms));
        edgesZoom = zoom.level;
        samples.push(Math.round(m.ms));
        shape = {
          hosts: reports.length,
          nodes: m.nodes,
          edges: m.large ? joins : m.edges,
          edges_in_view: zoom.edges,
          layout: m.large ? 'pack' : 'fcose',
          topology_bytes: bytes,
          overview_bytes: overviewBytes,
        };
        ctx.log(
          `fleet-map: run ${i + 1}: ${Math.round(m.ms)} ms (${m.nodes} nodes, ${m.edges} edges in the first draw${Number.isFinite(zoom.level) ? `, ${zoom.edges} (those of the fabrics in view) after zooming in to ${zoom.level}` : ''}, ${m.large ? 'pack' : 'fcose'} layout; main thread busy ${busyMs} ms, of which CPU ${cpuMs} ms; ms since navigation: ${m.phases.join(', ')}; joins on zoom ${Number.isFinite(zoom.ms) ? `${Math.round(zoom.ms)} ms more` : 'not measured: the page draws them all at once'})`,
        );
      } finally {
        await context.close();
      }
    }
    const s = summarize(samples);
    return [
      {
        name: 'fleet-map',
        engine: 'chromium',
        unit,
        ...s,
        ...shape,
        busy_ms: summarize(busy),
        cpu_ms: summarize(cpu),
        joins_on_zoom_ms: summarize(zoomMs),
        note: `${reports.length} hosts, ${String(shape.nodes)} nodes, ${String(shape.edges)} edges, ${String(shape.layout)} layout, in Debian's Chromium; the page's main thread was busy ${String(summarize(busy).median)} ms (median) of it, ${String(summarize(cpu).median)} ms of CPU. ${zoomMs.length > 0 ? `The first draw is the overview (fabrics, hosts, segments, findings); zooming in to ${edgesZoom} adds the joins of the fabrics in view: ${String(summarize(zoomMs).median)} ms more (median, ${String(summarize(zoomMs).min)} – ${String(summarize(zoomMs).max)})` : 'The first draw holds every join'}`,
      },
    ];
  } finally {
    await browser.close();
    await service.stop();
  }
}
