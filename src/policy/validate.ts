/**
 * Reading what a person wrote (a YAML or JSON file, already parsed into
 * plain values) with the key path of every value at hand, so that each
 * mistake is reported as `FILE: fabrics.mgmt.interfaces.eth0.vids[1]: must
 * be an integer 1-4094, got "x"` (UsageError, exit code 2) rather than as a
 * wrong decision later. Unknown keys are errors too: a misspelt key that is
 * silently ignored is a policy that silently does not apply.
 */
import { parseDocument } from 'yaml';
import { UsageError } from '../errors';

export type KeyPath = readonly (string | number)[];

/** Where values come from and which error code their mistakes get. */
export interface Source {
  /** The file name as messages show it. */
  readonly name: string;
  /** The stable UsageError code, e.g. E_EXPECTED_FORMAT. */
  readonly code: string;
}

const PLAIN_KEY = /^[A-Za-z_][A-Za-z0-9_-]*$/;

/** `fabrics.mgmt.interfaces.eth0.vids[1]`; keys that are not plain words are quoted: `fabrics["my fabric"]`. */
export function formatPath(path: KeyPath): string {
  if (path.length === 0) return '(top level)';
  let out = '';
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else if (PLAIN_KEY.test(p)) out += out === '' ? p : `.${p}`;
    else out += `[${JSON.stringify(p)}]`;
  }
  return out;
}

/** A value as a message shows it: short, and by kind for containers. */
export function describe(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object' && v !== null) return 'a mapping';
  // Numbers as written (JSON would print Infinity and NaN as null).
  const json = typeof v === 'number' ? String(v) : JSON.stringify(v);
  return json.length > 60 ? `${json.slice(0, 57)}...` : json;
}

export function fail(src: Source, path: KeyPath, what: string): never {
  throw new UsageError(src.code, `${src.name}: ${formatPath(path)}: ${what}`);
}

export function failGot(src: Source, path: KeyPath, what: string, got: unknown): never {
  return fail(src, path, `${what}, got ${describe(got)}`);
}

export function isMapping(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A mapping whose keys are all in `allowed` (when given); `required` keys must be present. */
export function mapping(src: Source, v: unknown, path: KeyPath, allowed?: readonly string[], required: readonly string[] = []): Record<string, unknown> {
  if (!isMapping(v)) return failGot(src, path, 'must be a mapping', v);
  if (allowed) {
    for (const key of Object.keys(v)) {
      if (!allowed.includes(key)) fail(src, [...path, key], `unknown key (expected ${allowed.map((k) => `"${k}"`).join(', ')})`);
    }
  }
  for (const key of required) if (v[key] === undefined) fail(src, [...path, key], 'is required');
  return v;
}

export function list(src: Source, v: unknown, path: KeyPath): readonly unknown[] {
  return Array.isArray(v) ? v : failGot(src, path, 'must be a list', v);
}

export function boolean(src: Source, v: unknown, path: KeyPath): boolean {
  return typeof v === 'boolean' ? v : failGot(src, path, 'must be true or false', v);
}

export function string(src: Source, v: unknown, path: KeyPath): string {
  return typeof v === 'string' && v !== '' ? v : failGot(src, path, 'must be a non-empty string', v);
}

export function integer(src: Source, v: unknown, path: KeyPath, min: number, max: number): number {
  return typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max ? v : failGot(src, path, `must be an integer ${min}-${max}`, v);
}

/** A finite number > min (exclusive) and <= max. */
export function positive(src: Source, v: unknown, path: KeyPath, max: number): number {
  return typeof v === 'number' && Number.isFinite(v) && v > 0 && v <= max ? v : failGot(src, path, `must be a number greater than 0 and at most ${max}`, v);
}

/**
 * A Linux interface name: 1-15 bytes, no slash, no whitespace, not "." or
 * "..". Checked so that a typo such as "eth0 " is caught here rather than
 * never matching anything.
 */
export function ifname(src: Source, v: unknown, path: KeyPath): string {
  const s = string(src, v, path);
  if (Buffer.byteLength(s) > 15 || /[/\s]/.test(s) || s === '.' || s === '..')
    failGot(src, path, 'must be an interface name (1-15 bytes, no "/" or whitespace)', s);
  return s;
}

/**
 * Parses YAML text into plain values. Syntax errors and duplicate keys
 * name the file, line and column. YAML 1.2 core schema: `yes` is a string,
 * not true, and timestamps stay strings.
 */
export function parseYaml(src: Source, text: string): unknown {
  const doc = parseDocument(text, { prettyErrors: false });
  const err = doc.errors[0];
  if (err) {
    // Positioned as compilers print it: FILE:LINE:COLUMN.
    const before = text.slice(0, err.pos[0]);
    const line = before.split('\n').length;
    const col = before.length - before.lastIndexOf('\n');
    throw new UsageError(src.code, `${src.name}:${line}:${col}: not valid YAML: ${err.message.split('\n')[0]}`);
  }
  try {
    return doc.toJS({ maxAliasCount: 100 }) as unknown;
  } catch (e) {
    // An alias bomb (a few lines expanding to millions of nodes) is refused here.
    throw new UsageError(src.code, `${src.name}: not valid YAML: ${(e as Error).message}`);
  }
}

/** Parses JSON text; a syntax error names the file. */
export function parseJson(src: Source, text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new UsageError(src.code, `${src.name}: not valid JSON: ${(err as Error).message}`);
  }
}
