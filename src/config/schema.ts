/**
 * A small validator that names the key path of every problem
 * (`periods.solicitation: must be a number from 1 to 3600, got "x"`).
 * Config files are operator input: each check says what is wrong and what
 * would be right, and unknown keys are errors, not silently ignored typos.
 */

export class SchemaError extends Error {
  constructor(
    readonly path: string,
    readonly problem: string,
  ) {
    super(`${path || '(top level)'}: ${problem}`);
  }
}

export type Check<T> = (value: unknown, path: string) => T;

const show = (v: unknown): string =>
  typeof v === 'string'
    ? JSON.stringify(v)
    : v === null
      ? 'null'
      : Array.isArray(v)
        ? 'a list'
        : typeof v === 'object'
          ? 'a mapping'
          : typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint'
            ? String(v)
            : typeof v;

export const str =
  (opts: { pattern?: RegExp; hint?: string } = {}): Check<string> =>
  (v, path) => {
    if (typeof v !== 'string' || v.length === 0) throw new SchemaError(path, `must be a non-empty string, got ${show(v)}`);
    if (opts.pattern && !opts.pattern.test(v)) throw new SchemaError(path, `${opts.hint ?? `must match ${String(opts.pattern)}`}, got ${show(v)}`);
    return v;
  };

export const num =
  (min: number, max: number, integer = false): Check<number> =>
  (v, path) => {
    if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max || (integer && !Number.isInteger(v))) {
      throw new SchemaError(path, `must be ${integer ? 'an integer' : 'a number'} from ${min} to ${max}, got ${show(v)}`);
    }
    return v;
  };

export const bool: Check<boolean> = (v, path) => {
  if (typeof v !== 'boolean') throw new SchemaError(path, `must be true or false, got ${show(v)}`);
  return v;
};

export const oneOf =
  <T extends string>(choices: readonly T[]): Check<T> =>
  (v, path) => {
    if (typeof v !== 'string' || !(choices as readonly string[]).includes(v))
      throw new SchemaError(path, `must be one of ${choices.join(', ')}, got ${show(v)}`);
    return v as T;
  };

export const list =
  <T>(item: Check<T>, opts: { max?: number } = {}): Check<T[]> =>
  (v, path) => {
    if (!Array.isArray(v)) throw new SchemaError(path, `must be a list, got ${show(v)}`);
    if (opts.max !== undefined && v.length > opts.max) throw new SchemaError(path, `must have at most ${opts.max} entries, has ${v.length}`);
    return v.map((x, i) => item(x, `${path}[${i}]`));
  };

export const nullable =
  <T>(inner: Check<T>): Check<T | null> =>
  (v, path) =>
    v === null ? null : inner(v, path);

export type Shape = Record<string, Check<unknown>>;
export type FromShape<S extends Shape> = { [K in keyof S]?: S[K] extends Check<infer T> ? T : never };

/** A mapping with known keys, each optional; any other key is an error naming it. */
export const obj =
  <S extends Shape>(shape: S): Check<FromShape<S>> =>
  (v, path) => {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new SchemaError(path, `must be a mapping, got ${show(v)}`);
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
      const sub = path ? `${path}.${k}` : k;
      const check = shape[k];
      if (!check) throw new SchemaError(sub, `unknown key (known here: ${Object.keys(shape).join(', ')})`);
      out[k] = check(x, sub);
    }
    return out as FromShape<S>;
  };

/** A mapping from free-form names to values of one shape (e.g. fabrics by name). */
export const dict =
  <T>(value: Check<T>): Check<Record<string, T>> =>
  (v, path) => {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new SchemaError(path, `must be a mapping, got ${show(v)}`);
    return Object.fromEntries(Object.entries(v as Record<string, unknown>).map(([k, x]) => [k, value(x, path ? `${path}.${k}` : k)]));
  };
