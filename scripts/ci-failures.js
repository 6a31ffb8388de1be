#!/usr/bin/env node
'use strict';
/**
 * The failing tests of the last tap run, repeated at the end of CI's output.
 *
 * CI's log is long (ctest, the fuzz smoke, the ASan subset and the install
 * checks all come after tap), and a reader who sees only its tail would
 * otherwise see "1 failed" and no name. This reads tap's per-file results
 * (.tap/test-results/**.tap) and prints, for each failing assertion, the
 * file, the path of subtests down to it, and the first lines of its
 * diagnostic (message, where, what was found and wanted).
 *
 * Usage: ci-failures.js [RESULTS_DIR]   (default .tap/test-results)
 * Prints nothing when nothing failed; exits 0 either way.
 */
const { readdirSync, readFileSync, statSync } = require('node:fs');
const { join, relative } = require('node:path');

/** Every .tap file under dir. */
function tapFiles(dir) {
  const out = [];
  let entries;
  try {
    entries = readdirSync(dir);
  } catch {
    return out;
  }
  for (const name of entries.sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...tapFiles(p));
    else if (name.endsWith('.tap')) out.push(p);
  }
  return out;
}

/** Top-level keys of a diagnostic worth repeating as they are. */
const KEEP = /^(message|found|wanted|expired|timeout|signal|code|exitCode|error|errorOrigin):/;

/**
 * The useful part of one YAML diagnostic block (its lines, unindented to the
 * block's own level): where the assertion is, the message and values, the
 * changed lines of a diff.
 */
function summarise(block, max) {
  const out = [];
  let at = {};
  let section = '';
  for (const raw of block) {
    const top = !/^\s/.test(raw);
    const line = raw.trim();
    if (top) {
      section = line.replace(/:.*$/, '');
      if (KEEP.test(line) && !/: [|>]-?$/.test(line)) out.push(line);
      continue;
    }
    if (section === 'at') {
      const m = /^(fileName|lineNumber): (.*)$/.exec(line);
      if (m) at = { ...at, [m[1]]: m[2] };
    } else if (section === 'diff' && /^[-+](?![-+]{2} )/.test(line)) out.push(`diff ${line}`);
    else if (KEEP.test(`${section}:`) && line !== '') out.push(`${section}: ${line}`);
  }
  if (at.fileName) out.unshift(`at ${at.fileName}${at.lineNumber ? `:${at.lineNumber}` : ''}`);
  return out.slice(0, max);
}

/**
 * The failing assertions of one TAP stream: each with the subtest path down
 * to it and up to `diagLines` lines of its YAML diagnostic. A failing
 * subtest's own "not ok" is left out when something inside it failed, so
 * each failure is named once, at its deepest point.
 */
function failures(text, diagLines = 6) {
  const lines = text.split('\n');
  const found = [];
  /** subtest names by indent depth (4 spaces a level) */
  const stack = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    const sub = /^( *)# Subtest: (.*)$/.exec(line);
    if (sub) {
      const depth = sub[1].length / 4;
      stack.length = depth;
      stack[depth] = sub[2];
      continue;
    }
    const m = /^( *)not ok \d+ - (.*?)(?: # time=[\d.]+m?s)?$/.exec(line);
    if (!m || /# (TODO|SKIP)\b/i.test(m[2])) continue;
    const depth = m[1].length / 4;
    const path = stack.slice(0, depth).filter((s) => s !== undefined);
    // A subtest's own summary line: its name is the last in the path, and a
    // deeper failure was already recorded under it.
    const inner = found.some((f) => f.path.length > depth && f.path[depth] === m[2] && f.path.slice(0, depth).join('\0') === path.join('\0'));
    let diag = [];
    if (lines[i + 1] !== undefined && /^ *---$/.test(lines[i + 1])) {
      const indent = lines[i + 1].indexOf('-');
      const block = [];
      for (let j = i + 2; j < lines.length && !/^ *\.\.\.$/.test(lines[j]); j++) block.push(lines[j].slice(indent));
      diag = summarise(block, diagLines);
    }
    if (!inner) found.push({ path: [...path, m[2]], diag });
    stack.length = depth + 1;
  }
  return found;
}

function main() {
  const dir = process.argv[2] ?? '.tap/test-results';
  let n = 0;
  const out = [];
  for (const file of tapFiles(dir)) {
    const fs = failures(readFileSync(file, 'utf8'));
    for (const f of fs) {
      n++;
      out.push(`  ${relative(dir, file).replace(/\.tap$/, '')}: ${f.path.join(' > ')}`);
      for (const d of f.diag) out.push(`      ${d.length > 200 ? `${d.slice(0, 200)}…` : d}`);
    }
  }
  if (n === 0) return;
  console.log(`failing tests (${n}, from ${dir}):`);
  const MAX = 60;
  for (const l of out.slice(0, MAX)) console.log(l);
  if (out.length > MAX) console.log(`  … ${out.length - MAX} more lines: see the tap output above`);
}

module.exports = { failures, tapFiles };

if (require.main === module) main();
