/**
 * The fleet model computed again cheaply, with the same answer as
 * buildFleetModel.
 *
 * Agents report at least every 30 s whether or not anything changed, so
 * under a stream of reports nearly every new model has the same interfaces
 * and hints as the one before, and only the times moved. The joins
 * (fabrics, placements, findings other than stale hosts) are a function of
 * the hosts' interfaces and hints and of the fabric names the segments had;
 * presence is a function of the times. So a builder that remembers its last
 * model reuses the joins when every host's interfaces and hints equal the
 * ones it joined and the names are the ones it gave (naming a model with
 * its own names changes nothing), and assembles presence and the document
 * anew. Anything else is a full computation.
 *
 * The topology document's bytes are made from parts: a reused model shares
 * its fabrics and placements (nearly all of the document) with the one
 * before, so their JSON is made once for both.
 */
import { assembleModel, buildFleetModel, joinedOf, sortHosts, type ModelInput } from './model';
import type { FleetReport } from './report';
import type { FleetModel, FleetTopology } from './types';

/** Equal JSON values (plain objects, arrays, strings, numbers, booleans, null; undefined as absent). */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!jsonEqual(a[i], b[i])) return false;
    return true;
  }
  if (Array.isArray(b)) return false;
  const x = a as Record<string, unknown>;
  const y = b as Record<string, unknown>;
  let n = 0;
  for (const k in x) {
    if (x[k] === undefined) continue;
    n++;
    if (!jsonEqual(x[k], y[k])) return false;
  }
  for (const k in y) if (y[k] !== undefined) n--;
  return n === 0;
}

/** Whether two reports of one host give the model the same joins. */
export function sameJoins(a: FleetReport, b: FleetReport): boolean {
  return a === b || (a.host === b.host && jsonEqual(a.interfaces, b.interfaces) && jsonEqual(a.hints, b.hints));
}

export type BuildKind = 'full' | 'reused';

export class FleetModelBuilder {
  #last: { readonly reports: ReadonlyMap<string, FleetReport>; readonly names: ReadonlyMap<string, string>; readonly model: FleetModel } | undefined;
  /** How the last build went: computed in full, or the joins reused. */
  lastKind: BuildKind | undefined;

  /** The same model as buildFleetModel(input). */
  build(input: ModelInput): FleetModel {
    const last = this.#last;
    let model: FleetModel;
    if (last && this.#reusable(input)) {
      model = assembleModel(sortHosts(input.hosts), joinedOf(last.model), input.nowMs);
      this.lastKind = 'reused';
    } else {
      model = buildFleetModel(input);
      this.lastKind = 'full';
    }
    this.#last = { reports: new Map(input.hosts.map((h) => [h.report.host, h.report])), names: input.names, model };
    return model;
  }

  #reusable(input: ModelInput): boolean {
    const last = this.#last!;
    if (input.names !== last.names && input.names !== last.model.derived.fabrics) return false;
    if (input.hosts.length !== last.reports.size) return false;
    for (const { report } of input.hosts) {
      const before = last.reports.get(report.host);
      if (!before || !sameJoins(before, report)) return false;
    }
    return true;
  }
}

/** Parts of the document shared between models, and their JSON. */
const partJson = new WeakMap<object, Buffer>();
const SHARED = new Set(['fabrics', 'placements']);

/**
 * The bytes of JSON.stringify(topology), with the fabrics' and the
 * placements' JSON made once per list (a reused model shares them).
 */
export function topologyJson(t: FleetTopology): Buffer {
  const parts: Buffer[] = [];
  for (const [key, value] of Object.entries(t) as Array<[string, unknown]>) {
    if (value === undefined) continue;
    parts.push(Buffer.from(`${parts.length === 0 ? '{' : ','}${JSON.stringify(key)}:`));
    if (SHARED.has(key) && typeof value === 'object' && value !== null) {
      let json = partJson.get(value);
      if (!json) {
        json = Buffer.from(JSON.stringify(value));
        partJson.set(value, json);
      }
      parts.push(json);
    } else parts.push(Buffer.from(JSON.stringify(value)));
  }
  parts.push(Buffer.from(parts.length === 0 ? '{}' : '}'));
  return Buffer.concat(parts);
}
