/**
 * Smoke test of `npm run bench`: a --quick run with one run per case writes
 * JSON of the documented shape, every case present with numbers or with the
 * reason it has none. No speed is asserted: benchmarks are never timed tests
 * (docs/style.md, point 7).
 *
 * The bench runs built (dist/bench/run.js), as `npm run bench` does: under
 * a TypeScript loader every worker would start seconds slower and its RSS
 * would be the loader's. dist is rebuilt first (bench/tsconfig.json: the
 * bench and what it imports) if any source is newer. The
 * child gets none of tap's coverage hooks (the bench is not under test here,
 * only its output's shape).
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import t from 'tap';

const ROOT = resolve(__dirname, '..', '..');
const RUN = join(ROOT, 'dist', 'bench', 'run.js');

const CASES = [
  'decode-valid',
  'verify-valid',
  'decode-forged',
  'decode-stale',
  'decode-garbage',
  'decode-valid-v3',
  'verify-valid-v3',
  'decode-forged-v3',
  'decode-wrongkey-v3',
  'crypto-floor',
  'seal',
  'live-capture',
  'background',
  'latency',
  'memory-forged',
  'memory-valid',
  'observe',
  'fleet-ingest',
  'fleet-topology',
  'fleet-memory',
  'fleet-map',
  'correlate',
  'correlate-replay',
  'many-interfaces',
  'interface-events',
  'start-to-ready',
  'sigterm-to-exit',
  'cli-startup',
];
/** netbeacon's engines and the MAAS baseline; cli-startup's rows name how the command was started (bin, npx). */
const DECODE_ENGINES = ['native', 'js', 'maas-python'];
const ENGINES = [...DECODE_ENGINES, 'bin', 'npx'];
const STORES = ['postgres', 'sqlite'];

/** Source .ts files under dir whose dist .js is missing or older. */
function stale(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(join(ROOT, dir), { withFileTypes: true })) {
    const rel = join(dir, e.name);
    if (e.isDirectory()) out.push(...stale(rel));
    else if (e.name.endsWith('.ts')) {
      const js = join(ROOT, 'dist', rel.replace(/\.ts$/, '.js'));
      if (!existsSync(js) || statSync(js).mtimeMs < statSync(join(ROOT, rel)).mtimeMs) out.push(rel);
    }
  }
  return out;
}

/**
 * argv that runs node without tap's coverage and process-tracking hooks:
 * tap's spawn wrapper puts its --import back into NODE_OPTIONS, so env(1)
 * takes it (and the rest of tap's variables) out again just before node.
 */
function untracked(argv: string[]): string[] {
  const drop = Object.keys(process.env).filter((k) => k === 'NODE_OPTIONS' || k === 'NODE_V8_COVERAGE' || k.startsWith('_TAPJS_') || k.startsWith('TAP'));
  return ['env', ...drop.flatMap((k) => ['-u', k]), '-u', 'NODE_OPTIONS', ...argv];
}

function runBench(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolveRun, reject) => {
    const [cmd, ...rest] = untracked([process.execPath, RUN, ...args]);
    const child = spawn(cmd!, rest, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    // SIGINT lets the bench clean up its namespaces and children, 20 s
    // before tap's own timeout for this file (TAP_TIMEOUT: 300 s in npm test,
    // more under the sanitizers) would kill this process and leave them.
    // A quick run of every case takes ~150 s here without the sanitizers.
    const timer = setTimeout(() => child.kill('SIGINT'), Math.max(60, Number(process.env.TAP_TIMEOUT ?? 300) - 20) * 1000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolveRun({ code, stdout, stderr });
    });
  });
}

interface Row {
  name: string;
  engine: string;
  unit: string;
  median: number | null;
  min: number | null;
  max: number | null;
  runs: number;
  ratio?: number;
  baseline?: string;
  skipped?: string;
}

t.test('npm run bench --quick writes every case, measured or with a reason', async (t) => {
  const outdated = [...stale('bench'), ...stale('src')];
  if (outdated.length > 0 || !existsSync(RUN)) {
    // As `npm run bench` does: the bench and what it imports, nothing else.
    const [cmd, ...rest] = untracked([process.execPath, join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(ROOT, 'bench', 'tsconfig.json')]);
    const tsc = spawnSync(cmd!, rest, { encoding: 'utf8' });
    t.equal(tsc.status, 0, `the bench compiles${tsc.status === 0 ? '' : `: ${tsc.stdout.slice(0, 2000)}`}`);
  }
  t.ok(existsSync(RUN), 'dist/bench/run.js is built');

  const dir = mkdtempSync(join(tmpdir(), 'nbb-smoke-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const json = join(dir, 'bench.json');
  const r = await runBench(['--quick', '--runs', '1', '--json', json]);
  t.equal(r.code, 0, `the bench exits 0${r.code === 0 ? '' : `: ${r.stderr.slice(-2000)}`}`);
  t.match(r.stdout, /^case\s+engine\s+median/m, 'prints the results table');
  t.match(r.stdout, /goals \(reported, not asserted\)/, 'prints the goals table');

  const report = JSON.parse(readFileSync(json, 'utf8')) as {
    machine: Record<string, unknown>;
    cases: Row[];
    goals: Array<{ goal: string; met: boolean | null }>;
  };
  for (const k of ['cpu', 'cores', 'node', 'kernel', 'date']) t.ok(report.machine[k], `machine.${k} is reported`);
  for (const name of CASES)
    t.ok(
      report.cases.some((c) => c.name === name),
      `case ${name} is present`,
    );
  for (const name of CASES.filter((c) => c.startsWith('decode-') && !c.endsWith('-v3'))) {
    t.same(
      report.cases
        .filter((c) => c.name === name)
        .map((c) => c.engine)
        .sort(),
      [...DECODE_ENGINES].sort(),
      `${name} has a row for every engine`,
    );
  }
  t.same(
    report.cases
      .filter((c) => c.name === 'verify-valid')
      .map((c) => c.engine)
      .sort(),
    ['js', 'native'],
    'verify-valid: native and js (MAAS has no such stage)',
  );
  for (const name of CASES.filter((c) => c.startsWith('fleet-') && c !== 'fleet-map'))
    t.same(
      report.cases
        .filter((c) => c.name === name)
        .map((c) => c.engine)
        .sort(),
      STORES,
      `${name} has a row for each store`,
    );
  for (const name of CASES.filter((c) => c.endsWith('-v3'))) {
    const rows = report.cases.filter((c) => c.name === name);
    t.same(rows.map((c) => c.engine).sort(), ['js', 'native'], `${name}: native and js (MAAS drops v3 as an unknown version)`);
    for (const r of rows)
      if (r.median !== null) t.match(r.baseline, /^(decode|verify)-(valid|forged) (native|js)$/, `${name}/${r.engine}: related to v2 on the same engine`);
  }
  for (const c of report.cases) {
    const id = `${c.name}/${c.engine}`;
    t.ok(CASES.includes(c.name), `${id}: a known case`);
    t.ok((c.name === 'fleet-map' ? ['chromium'] : c.name.startsWith('fleet-') ? STORES : ENGINES).includes(c.engine), `${id}: a known engine`);
    t.type(c.unit, 'string', `${id}: has a unit`);
    if (c.skipped !== undefined) {
      t.ok(typeof c.skipped === 'string' && c.skipped.length > 0, `${id}: says why it was skipped`);
      t.equal(c.median, null, `${id}: skipped rows have no number`);
      continue;
    }
    for (const k of ['median', 'min', 'max'] as const) t.ok(Number.isFinite(c[k]), `${id}: ${k} is a number`);
    t.ok(c.runs >= 1, `${id}: counts its runs`);
    t.ok(c.min! <= c.median! && c.median! <= c.max!, `${id}: min <= median <= max`);
    if (c.ratio !== undefined) {
      t.ok(Number.isFinite(c.ratio), `${id}: ratio is a number`);
      t.type(c.baseline, 'string', `${id}: names its baseline`);
    }
  }
  t.same(
    report.cases
      .filter((c) => c.name.startsWith('correlate'))
      .map((c) => `${c.name}/${c.engine}`)
      .sort(),
    ['correlate-replay/js', 'correlate/js', 'correlate/maas-python'],
    'correlate: the correlator, replay as a process, and the MAAS-equivalent side by side',
  );
  const correlator = report.cases.find((c) => c.name === 'correlate' && c.engine === 'js') as Row & Record<string, unknown>;
  if (correlator.skipped === undefined)
    for (const k of ['heapStartMiB', 'heapEndMiB', 'rssStartMiB', 'rssEndMiB']) t.ok(Number(correlator[k]) > 0, `correlate js reports ${k} of its long run`);
  t.same(
    report.cases
      .filter((c) => c.name === 'cli-startup')
      .map((c) => c.engine)
      .sort(),
    ['bin', 'npx'],
    'cli-startup: the installed command and npx (skipped by --quick, with the reason)',
  );
  t.ok(report.goals.length >= 7, 'judges the goals');
  for (const g of report.goals) t.ok(g.met === true || g.met === false || g.met === null, `goal "${g.goal}" is met, not met, or not measured`);
});
