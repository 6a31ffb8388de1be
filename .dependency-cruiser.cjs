/**
 * The architecture, as rules: this file is the source of truth for which
 * folder of src/ may import which (README, "Architecture", draws it).
 * `npm run lint` runs it; a violation fails CI.
 *
 *   cli ─▶ demo ─▶ probe ─▶ agent ───────────────┐
 *                    │        │  fleet (service) ─┤
 *                    ▼        ▼                   ▼
 *   drivers: capture ─▶ engine     net  config  secret  lab  metrics
 *                    │        │                   │
 *                    ▼        ▼                   ▼
 *   pure:    fleet/model ─▶ policy ─▶ topology ─▶ protocol
 *
 * A folder imports only from folders below it (and from itself). The pure
 * folders (protocol, topology, policy, fleet/model) import no I/O module;
 * what they may call (no timers, no clock, node:net only for its address
 * parsers) is checked by ESLint (eslint.config.mjs). The shared helpers
 * src/errors.ts and src/version.ts are pure and open to every folder;
 * src/log.ts (pino) is for drivers.
 */
const SHARED_PURE = 'errors\\.ts$|version\\.ts$';
const PURE = '^src/(protocol|topology|policy|fleet/model)/';

/** `from` may import nothing under src/ but `allowed` (folders, or file patterns relative to src/). */
function only(name, from, allowed, comment) {
  return {
    name,
    comment,
    severity: 'error',
    from: { path: `^src/${from}` },
    to: { path: '^src/', pathNot: `^src/(${[...allowed, SHARED_PURE].join('|')})` },
  };
}

/** `from` may import anything under src/ except `denied`. */
function not(name, from, denied, comment) {
  return { name, comment, severity: 'error', from: { path: `^src/${from}` }, to: { path: `^src/(${denied.join('|')})` } };
}

module.exports = {
  forbidden: [
    only('protocol-is-the-bottom', 'protocol/', ['protocol/'], 'The codec, frames and verdicts: bytes and the time in, frames and verdicts out.'),
    only('topology-is-pure', 'topology/', ['topology/', 'protocol/'], 'Correlation, hints, fabrics, replay: over protocol only.'),
    only('policy-is-pure', 'policy/', ['policy/', 'topology/', 'protocol/'], 'Decisions over the topology core.'),
    only(
      'fleet-model-is-pure',
      'fleet/model/',
      ['fleet/model/', 'policy/', 'topology/', 'protocol/'],
      "The fleet's model: the pure code the fleet service and replay share.",
    ),
    only('engine-over-protocol', 'engine/', ['engine/', 'protocol/'], 'Hot-path capabilities (native or JS) know the protocol and nothing above it.'),
    only('capture-over-engine', 'capture/', ['capture/', 'engine/', 'protocol/'], 'Capture drivers hand verified records up; they decide nothing.'),
    only('net-driver', 'net/', ['net/', 'engine/', 'topology/', 'protocol/'], 'Interface discovery: fills the topology core’s interface model.'),
    only('secret-driver', 'secret/', ['secret/', 'protocol/'], 'Finds and reads the secret.'),
    only('config-driver', 'config/', ['config/', 'policy/', 'protocol/', 'log\\.ts$'], 'Reads and checks the config file.'),
    only('lab-driver', 'lab/', ['lab/'], 'Network namespaces for the demo.'),
    only(
      'metrics-driver',
      'metrics/',
      ['metrics/', 'config/'],
      'Prometheus metrics computed at scrape time, shared by the agent and the fleet service: it knows neither.',
    ),
    not(
      'agent-is-a-driver',
      'agent/',
      ['cli/', 'demo/', 'probe/', 'fleet/(?!model/)'],
      'The daemon: a driver over the core. Tools and the fleet service sit beside or above it.',
    ),
    not('fleet-service-is-a-driver', 'fleet/(?!model/)', ['cli/', 'demo/', 'probe/', 'agent/'], 'The fleet service: HTTP and SQL over the fleet model.'),
    not('probe-below-cli', 'probe/', ['cli/', 'demo/', 'fleet/(?!model/)'], 'One-shot tools over the agent and the drivers.'),
    not('demo-below-cli', 'demo/', ['cli/'], 'The demo uses the tools; the CLI starts it.'),
    {
      name: 'pure-does-no-io',
      comment: 'No sockets, files, processes, threads or HTTP in the pure folders: drivers own the I/O.',
      severity: 'error',
      from: { path: PURE },
      to: {
        dependencyTypes: ['core'],
        path: '^(node:)?(fs|fs/promises|dgram|child_process|worker_threads|cluster|http|https|http2|tls|dns|os|readline|inspector|v8|vm)$',
      },
    },
    {
      name: 'pure-imports-no-driver-package',
      comment: 'Logging, HTTP, SQL and metrics packages belong to drivers.',
      severity: 'error',
      from: { path: PURE },
      to: { dependencyTypes: ['npm'], path: 'node_modules/(pino|prom-client|commander|better-sqlite3|pg|kysely)(/|$)' },
    },
    {
      name: 'only-binding-loads-the-addon',
      comment: 'engine/binding.ts is the one module that loads the .node file; everything native goes through loadBinding().',
      severity: 'error',
      from: { pathNot: '^src/engine/binding\\.ts$' },
      to: { path: '(\\.node$|^build/)' },
    },
    { name: 'no-circular', severity: 'error', from: {}, to: { circular: true } },
    { name: 'not-to-unresolvable', severity: 'error', from: {}, to: { couldNotResolve: true } },
    {
      name: 'src-not-to-dev-deps',
      comment: 'What the agent runs must be installed by `npm install --omit=dev`.',
      severity: 'error',
      from: { path: '^src/' },
      to: { dependencyTypes: ['npm-dev'], dependencyTypesNot: ['type-only'] },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(dist|build|coverage|node_modules)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.lint.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'] },
    reporterOptions: { text: { highlightFocused: true } },
  },
};
