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
import { jsonEqual } from './json-equal';
import type { FleetModel, FleetTopology, FleetTopologyOverview } from './types';

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
    const sameNames = last !== undefined && (input.names === last.names || input.names === last.model.derived.fabrics);
    if (last && changed?.length === 0 && sameNames) {
      model = assembleModel(hosts, joinedOf(last.model), input.nowMs);
      this.#incremental?.reassemble(hosts, model);
      this.lastKind = 'reused';
    } else if (last && changed && this.#incremental && changed.length <= INCREMENTAL_LIMIT) {
      model = this.#incremental.update(hosts, changed, input.names, input.nowMs);
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
const shared = new WeakMap<object, Json>();
const SHARED = new Set(['fabrics', 'placements']);

const sha256 = (b: Buffer): Buffer => createHash('sha256').update(b).digest();

/** A list -> the lists it is the concatenation of (the placements, per host). */
const chunksOf = new WeakMap<object, ReadonlyArray<readonly unknown[]>>();
interface Json {
  readonly parts: readonly Buffer[];
  readonly digest: Buffer;
}
/** A fabric or a host's placements -> its JSON (a chunk's without brackets) and digest. */
const chunkJson = new WeakMap<object, { readonly json: Buffer; readonly digest: Buffer }>();
/** The first fabric of a block -> the block's fabrics and their JSON, comma-separated. */
const blockJson = new WeakMap<object, { readonly members: readonly object[]; readonly json: Buffer; readonly digest: Buffer }>();
const COMMA = Buffer.from(',');

function jsonOf(owner: object, text: () => string): { readonly json: Buffer; readonly digest: Buffer } {
  let c = chunkJson.get(owner);
  if (!c) {
    const json = Buffer.from(text());
    c = { json, digest: sha256(json) };
    chunkJson.set(owner, c);
  }
  return c;
}

/** Parts of a list's JSON from pieces' JSON (each made once while the piece lives), with the digest of their digests. */
function listJson(pieces: ReadonlyArray<{ readonly json: Buffer; readonly digest: Buffer }>): Json {
  const parts: Buffer[] = [Buffer.from('[')];
  const digest = createHash('sha256');
  for (const p of pieces) {
    if (p.json.length === 0) continue;
    if (parts.length > 1) parts.push(COMMA);
    parts.push(p.json);
    digest.update(p.digest);
  }
  parts.push(Buffer.from(']'));
  return { parts, digest: digest.digest() };
}

/**
 * The fabrics' JSON in blocks of the fabrics whose first segment is one
 * host's (about a thousand blocks for a thousand racks, not one part per
 * fabric): a block is joined again only when one of its fabrics changed.
 */
function fabricsJson(fabrics: readonly FleetTopology['fabrics'][number][]): Json {
  const blocks: Array<{ readonly json: Buffer; readonly digest: Buffer }> = [];
  for (let i = 0; i < fabrics.length;) {
    const host = fabrics[i]!.segments[0]?.host;
    let end = i + 1;
    while (end < fabrics.length && fabrics[end]!.segments[0]?.host === host) end++;
    const members = fabrics.slice(i, end);
    let block = blockJson.get(members[0]!);
    if (!block || block.members.length !== members.length || block.members.some((m, k) => m !== members[k])) {
      const own = members.map((f) => jsonOf(f, () => JSON.stringify(f)));
      const json = Buffer.concat(own.flatMap((o, k) => (k === 0 ? [o.json] : [COMMA, o.json])));
      const digest = createHash('sha256');
      for (const o of own) digest.update(o.digest);
      block = { members, json, digest: digest.digest() };
      blockJson.set(members[0]!, block);
    }
    blocks.push(block);
    i = end;
  }
  return listJson(blocks);
}

function placementsJson(list: readonly unknown[]): Json {
  const chunks = chunksOf.get(list) ?? [list];
  return listJson(chunks.map((c) => jsonOf(c, () => JSON.stringify(c).slice(1, -1))));
}

/**
 * The bytes of JSON.stringify(topology), in parts: the fabrics' and the
 * placements' JSON is made once per list (a reused model shares them),
 * from pieces made once per fabric and per host's placements (a model
 * computed incrementally shares all but the changed ones), and never
 * copied into one buffer (53 MB for a thousand racks). The ETag is a digest
 * of the other parts and of the pieces' digests, so it is distinct for
 * distinct documents without hashing the shared bytes again.
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
        part = key === 'fabrics' ? fabricsJson(value as FleetTopology['fabrics'][number][]) : placementsJson(value as readonly unknown[]);
        shared.set(value, part);
      }
      parts.push(...part.parts);
      etag.update(part.digest);
    } else own(JSON.stringify(value));
  }
  own(parts.length === 0 ? '{}' : '}');
  const length = parts.reduce((n, b) => n + b.length, 0);
  return { parts, length, etag: `"${etag.digest('base64url').slice(0, 22)}"` };
}

type OverviewFabric = FleetTopologyOverview['fabrics'][number];

/**
 * The overview's list per model's list (a reused model shares it, and so
 * its JSON), and the overview of each fabric per fabric: a model computed
 * incrementally shares its unchanged fabrics with the model before, so
 * their overviews, and their JSON (topologyBytes), are made only once.
 */
const overviewLists = new WeakMap<FleetTopology['fabrics'], FleetTopologyOverview['fabrics']>();
const overviewOfFabric = new WeakMap<FleetTopology['fabrics'][number], OverviewFabric>();

/** The overview document (GET /api/v1/topology?detail=overview): the topology less its joins' hints. */
export function topologyOverview(t: FleetTopology): FleetTopologyOverview {
  let fabrics = overviewLists.get(t.fabrics);
  if (!fabrics) {
    fabrics = t.fabrics.map((f) => {
      let o = overviewOfFabric.get(f);
      if (!o) {
        o = { ...f, joins: f.joins.map(({ hints: _hints, ...j }) => j) };
        overviewOfFabric.set(f, o);
      }
      return o;
    });
    overviewLists.set(t.fabrics, fabrics);
  }
  const { version, ...rest } = t;
  return { version, detail: 'overview', ...rest, fabrics };
}

/** The document as one buffer (for callers that parse it). */
export function topologyJson(t: FleetTopology): Buffer {
  return Buffer.concat(topologyBytes(t).parts);
}
