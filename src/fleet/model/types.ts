/**
 * The fleet model as the read API prints it (docs/fleet-api.md,
 * `GET /api/v1/topology`), and what it is computed from.
 */
import type { TopologyHint } from '../../topology/hints';
import type { FleetReport } from './report';
import type { FleetSegment } from './segment';

export const TOPOLOGY_VERSION = 1;

/** A host's last accepted report, as the store keeps it. */
export interface HostRecord {
  readonly report: FleetReport;
  /** The service's clock when the report was stored (ms). */
  readonly receivedAtMs: number;
  readonly firstSeenMs: number;
  /** Where it came from (absent over a Unix socket). */
  readonly address?: string;
}

/** A hint and the host that reported it. */
export type FleetHint = TopologyHint & { readonly host: string };

export type JoinKind = 'interface' | 'local' | 'remote' | 'peer';

export interface PeerRef {
  readonly mac: string;
  readonly ifname: string;
  readonly vid?: number;
}

export interface FleetJoin {
  readonly a: FleetSegment;
  readonly b: FleetSegment;
  readonly kind: JoinKind;
  readonly hints: readonly FleetHint[];
  readonly peer?: PeerRef;
}

export interface FleetFabric {
  readonly name: string;
  readonly segments: readonly FleetSegment[];
  readonly vids: ReadonlyArray<number | null>;
  readonly hosts: readonly string[];
  readonly joins: readonly FleetJoin[];
}

export interface FleetPlacement {
  readonly host: string;
  readonly interface: string;
  readonly fabric: string | null;
  readonly vid: number | null;
  readonly via: { readonly host: string; readonly interface: string; readonly hint: FleetHint } | null;
  readonly agrees: boolean;
  readonly reason: string;
}

export type FindingKind = 'native_vlan_mismatch' | 'unknown_mac' | 'stale_host' | 'duplicate_mac';

export interface FleetFinding {
  readonly kind: FindingKind;
  readonly message: string;
  readonly hosts: readonly string[];
  readonly segments: readonly FleetSegment[];
  readonly hints: readonly FleetHint[];
  readonly mac?: string;
  readonly last_report?: string;
  /** How many hints there were when `hints` lists only the first ones. */
  readonly hints_total?: number;
}

export interface FleetTopology {
  readonly version: typeof TOPOLOGY_VERSION;
  readonly generated_at: string;
  readonly hosts: { readonly total: number; readonly stale: number };
  readonly fabrics: readonly FleetFabric[];
  readonly placements: readonly FleetPlacement[];
  readonly findings: readonly FleetFinding[];
}

/** A join as the overview document has it: without the hints that prove it. */
export type FleetOverviewJoin = Omit<FleetJoin, 'hints'>;

/**
 * GET /api/v1/topology?detail=overview: the document the map's first draw
 * needs, the topology less the joins' hints (most of its bytes), marked
 * `detail: 'overview'`.
 */
export interface FleetTopologyOverview extends Omit<FleetTopology, 'fabrics'> {
  readonly detail: 'overview';
  readonly fabrics: ReadonlyArray<Omit<FleetFabric, 'joins'> & { readonly joins: readonly FleetOverviewJoin[] }>;
}

export type Presence = 'fresh' | 'stale';

/**
 * What the history follows, as plain maps: each segment's fabric, each
 * interface's placement (`fabric` or `fabric vid N`, null for none) and
 * each host's presence. The service stores it and diffs the next model's
 * against it.
 */
export interface DerivedState {
  /** Segment key -> fabric name. */
  readonly fabrics: ReadonlyMap<string, string>;
  /** host NUL interface -> placement, or null when MAAS would make a new fabric. */
  readonly placements: ReadonlyMap<string, string | null>;
  readonly presence: ReadonlyMap<string, Presence>;
}

export interface FleetModel {
  readonly topology: FleetTopology;
  readonly derived: DerivedState;
  /** The model is the same until this time unless a report arrives (a host turns stale then). */
  readonly validUntilMs: number;
}
