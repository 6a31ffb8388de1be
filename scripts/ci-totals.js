#!/usr/bin/env node
'use strict';
/**
 * The totals line CI ends with: `N passed, N failed, N skipped`.
 *
 * The tap counts come from tap's last `# { total: N, pass: N, fail: N, ... }`
 * line, the C++ counts from ctest's `N% tests passed, F tests failed out of T`.
 * A step that failed without a count of its own (lint, the fuzz smoke, the
 * ASan subset, a tap run that exited non-zero with no failing test, ctest
 * printing no summary) counts as one failure, so the line can never say
 * "0 failed" over a red step.
 *
 * Usage: ci-totals.js --tap 'SUMMARY' --tap-rc N --ctest 'SUMMARY' --ctest-rc N
 *                     [--step NAME=RC]...
 */

/** @returns {{ passed: number, failed: number, skipped: number, notes: string[] }} */
function totals({ tap, tapRc, ctest, ctestRc, steps }) {
  const notes = [];
  const get = (k) => {
    const m = new RegExp(`${k}: (\\d+)`).exec(tap);
    return m ? Number(m[1]) : 0;
  };
  let passed = get('pass');
  let failed = get('fail');
  const skipped = get('skip') + get('todo');
  if (!/^# \{ total: /.test(tap)) {
    notes.push('no tap summary found');
    failed += 1;
  } else if (tapRc !== 0 && get('fail') === 0) {
    notes.push(`tap exited ${tapRc} with no failing test: coverage below the thresholds or a runner error (see above)`);
    failed += 1;
  }
  const m = /(\d+) tests? failed out of (\d+)/.exec(ctest);
  if (!m) {
    notes.push(`no ctest summary found (npm run test:native exited ${ctestRc})`);
    failed += 1;
  } else {
    passed += Number(m[2]) - Number(m[1]);
    failed += Number(m[1]);
    if (ctestRc !== 0 && Number(m[1]) === 0) {
      notes.push(`npm run test:native exited ${ctestRc} after ctest passed`);
      failed += 1;
    }
  }
  for (const [name, rc] of steps) {
    if (rc !== 0) {
      notes.push(`${name} failed (exit ${rc})`);
      failed += 1;
    }
  }
  return { passed, failed, skipped, notes };
}

function parseArgs(argv) {
  const out = { tap: '', tapRc: NaN, ctest: '', ctestRc: NaN, steps: [] };
  const rc = (flag, v) => {
    if (!/^\d+$/.test(v ?? '')) throw new Error(`${flag}: expected an exit status, got ${JSON.stringify(v)}`);
    return Number(v);
  };
  for (let i = 0; i < argv.length; i += 2) {
    const [flag, v] = [argv[i], argv[i + 1]];
    if (flag === '--tap') out.tap = v ?? '';
    else if (flag === '--tap-rc') out.tapRc = rc(flag, v);
    else if (flag === '--ctest') out.ctest = v ?? '';
    else if (flag === '--ctest-rc') out.ctestRc = rc(flag, v);
    else if (flag === '--step') {
      const eq = (v ?? '').lastIndexOf('=');
      if (eq <= 0) throw new Error(`--step: expected NAME=RC, got ${JSON.stringify(v)}`);
      out.steps.push([v.slice(0, eq), rc('--step', v.slice(eq + 1))]);
    } else throw new Error(`unknown argument ${JSON.stringify(flag)} (see the usage at the top of scripts/ci-totals.js)`);
  }
  if (Number.isNaN(out.tapRc) || Number.isNaN(out.ctestRc)) throw new Error('--tap-rc and --ctest-rc are required');
  return out;
}

module.exports = { totals, parseArgs };

if (require.main === module) {
  try {
    const r = totals(parseArgs(process.argv.slice(2)));
    for (const n of r.notes) console.error(`ci-totals: ${n}`);
    console.log(`${r.passed} passed, ${r.failed} failed, ${r.skipped} skipped`);
  } catch (err) {
    console.error(`ci-totals: ${err.message}`);
    console.log('0 passed, 1 failed, 0 skipped');
    process.exitCode = 2;
  }
}
