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
import { createHash } from 'node:crypto';
import { assembleModel, buildFleetModel, joinedOf, sortHosts, type ModelInput } from './model';
import type { FleetReport } from './report';
import { IncrementalFleet } from './incremental';
import type { FleetModel, FleetTopology, FleetTopologyOverview } from './types';

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

/**
 * `next` with the interface and hint lists of `prev` (the host's report
 * before) where they are equal. Agents report every 30 s, nearly always
 * with the same interfaces and hints: a server that keeps the report it
 * just parsed would keep a second copy of lists it already holds, and the
 * young generation's collector copied those survivors (then promoted them)
 * at a cost that was most of ingest's garbage collection. The shared lists
 * also make the builder's comparison of the next model an identity check.
 */
export function shareUnchanged(prev: FleetReport, next: FleetReport): FleetReport {
  if (prev === next || prev.host !== next.host) return next;
  const interfaces = prev.interfaces === next.interfaces || jsonEqual(prev.interfaces, next.interfaces) ? prev.interfaces : next.interfaces;
  const hints = prev.hints === next.hints || jsonEqual(prev.hints, next.hints) ? prev.hints : next.hints;
  return interfaces === next.interfaces && hints === next.hints ? next : { ...next, interfaces, hints };
}

export type BuildKind = 'full' | 'reused' | 'incremental';

/** More changed hosts than this in one step: computing in full is as cheap. */
const INCREMENTAL_LIMIT = 64;

export class FleetModelBuilder {
  #last: { readonly reports: ReadonlyMap<string, FleetReport>; readonly names: ReadonlyMap<string, string>; readonly model: FleetModel } | undefined;
  #incremental: IncrementalFleet | undefined;
  /** How the last build went: computed in full, the joins reused, or only the changed hosts' fabrics computed. */
  lastKind: BuildKind | undefined;

  /** The same model as buildFleetModel(input). */
  build(input: ModelInput): FleetModel {
    const last = this.#last;
    let model: FleetModel | undefined;
    const hosts = sortHosts(input.hosts);
    const changed = last ? this.#changed(input) : undefined;
    const ownNames = last !== undefined && (input.names === last.model.derived.fabrics || (input.names === last.names && last.names === last.model.derived.fabrics));
    if (last && changed?.length === 0 && (ownNames || input.names === last.names)) {
      model = assembleModel(hosts, joinedOf(last.model), input.nowMs);
      this.#incremental?.reassemble(hosts, model);
      this.lastKind = 'reused';
    } else if (last && changed && ownNames && this.#incremental && changed.length <= INCREMENTAL_LIMIT) {
      model = this.#incremental.update(hosts, changed, input.nowMs);
      this.lastKind = 'incremental';
    }
    if (!model) {
      model = buildFleetModel(input);
      this.#incremental = new IncrementalFleet(hosts, model);
      this.lastKind = 'full';
    }
    this.#last = { reports: new Map(input.hosts.map((h) => [h.report.host, h.report])), names: input.names, model };
    if (this.#incremental) chunksOf.set(model.topology.placements, this.#incremental.placementChunks(hosts));
    return model;
  }

  /** The hosts added, removed, or with other interfaces or hints than the last model's. */
  #changed(input: ModelInput): string[] {
    const last = this.#last!;
    const out: string[] = [];
    const seen = new Set<string>();
    for (const { report } of input.hosts) {
      seen.add(report.host);
      const before = last.reports.get(report.host);
      if (!before || !sameJoins(before, report)) out.push(report.host);
    }
    for (const host of last.reports.keys()) if (!seen.has(host)) out.push(host);
    return out;
  }
}

/** The topology document as bytes in parts, and a strong ETag of them. */
export interface DocumentBytes {
  readonly parts: readonly Buffer[];
  readonly length: number;
  readonly etag: string;
}

/** Parts of the document shared between models: their JSON and its digest. */
const shared = new WeakMap<object, { readonly json: Buffer; readonly digest: Buffer }>();
const SHARED = new Set(['fabrics', 'placements']);

const sha256 = (b: Buffer): Buffer => createHash('sha256').update(b).digest();

/** A list -> the lists it is the concatenation of (the placements, per host). */
const chunksOf = new WeakMap<object, ReadonlyArray<readonly unknown[]>>();
/** A fabric or a chunk of a list -> its elements' JSON, comma-separated, and its digest. */
const chunkJson = new WeakMap<object, { readonly json: Buffer; readonly digest: Buffer }>();
const COMMA = Buffer.from(',');

/**
 * A list's JSON from its chunks' (a fabric alone, or a host's placements):
 * each chunk's JSON is made once and kept while the chunk lives, so a model
 * that changed a few fabrics stringifies only those.
 */
function listBytes(chunks: ReadonlyArray<readonly unknown[]>, single: boolean): { readonly json: Buffer; readonly digest: Buffer } {
  const bufs: Buffer[] = [Buffer.from('[')];
  const digest = createHash('sha256');
  for (const chunk of chunks) {
    if (chunk.length === 0) continue;
    const owner = (single ? chunk[0] : chunk) as object;
    let c = chunkJson.get(owner);
    if (!c) {
      const json = Buffer.from(single ? JSON.stringify(chunk[0]) : JSON.stringify(chunk).slice(1, -1));
      c = { json, digest: sha256(json) };
      chunkJson.set(owner, c);
    }
    if (bufs.length > 1) bufs.push(COMMA);
    bufs.push(c.json);
    digest.update(c.digest);
  }
  bufs.push(Buffer.from(']'));
  return { json: Buffer.concat(bufs), digest: digest.digest() };
}

/**
 * The bytes of JSON.stringify(topology), in parts: the fabrics' and the
 * placements' JSON is made once per list (a reused model shares them) and
 * never copied into one buffer (53 MB for a thousand racks). The ETag is a
 * digest of the other parts and of the shared parts' digests, so it is
 * distinct for distinct documents without hashing the shared bytes again.
 */
export function topologyBytes(t: FleetTopology | FleetTopologyOverview): DocumentBytes {
  const parts: Buffer[] = [];
  const etag = createHash('sha256');
  const own = (text: string): void => {
    const b = Buffer.from(text);
    parts.push(b);
    etag.update(b);
  };
  for (const [key, value] of Object.entries(t) as Array<[string, unknown]>) {
    if (value === undefined) continue;
    own(`${parts.length === 0 ? '{' : ','}${JSON.stringify(key)}:`);
    if (SHARED.has(key) && typeof value === 'object' && value !== null) {
      let part = shared.get(value);
      if (!part) {
        part = listBytes(key === 'fabrics' ? (value as readonly object[]).map((f) => [f]) : (chunksOf.get(value) ?? [value as readonly unknown[]]), key === 'fabrics');
        shared.set(value, part);
      }
      parts.push(part.json);
      etag.update(part.digest);
    } else own(JSON.stringify(value));
  }
  own(parts.length === 0 ? '{}' : '}');
  const length = parts.reduce((n, b) => n + b.length, 0);
  return { parts, length, etag: `"${etag.digest('base64url').slice(0, 22)}"` };
}

/** The overview's fabrics per model's fabrics: a reused model shares them, and so their JSON (topologyBytes). */
const overviewFabrics = new WeakMap<FleetTopology['fabrics'], FleetTopologyOverview['fabrics']>();

/** The overview document (GET /api/v1/topology?detail=overview): the topology less its joins' hints. */
export function topologyOverview(t: FleetTopology): FleetTopologyOverview {
  let fabrics = overviewFabrics.get(t.fabrics);
  if (!fabrics) {
    fabrics = t.fabrics.map((f) => ({ ...f, joins: f.joins.map(({ hints: _hints, ...j }) => j) }));
    overviewFabrics.set(t.fabrics, fabrics);
  }
  const { version, ...rest } = t;
  return { version, detail: 'overview', ...rest, fabrics };
}

/** The document as one buffer (for callers that parse it). */
export function topologyJson(t: FleetTopology): Buffer {
  return Buffer.concat(topologyBytes(t).parts);
}
