/**
 * The fleet database's tables, as Kysely types them. The migrations
 * (migrations/) create them; this is what the queries may use.
 *
 * - fleet_hosts: each host's last accepted report, as the bytes it signed.
 * - fleet_state: one row; `version` counts commits of the derived state.
 * - fleet_segments, fleet_placements, fleet_presence: the derived state the
 *   history is diffed against (each segment's fabric name, each interface's
 *   placement, each host's presence). Written only with fleet_state's
 *   version bumped, under a lock.
 * - fleet_history: every change of those, with the time it was seen.
 * Times are milliseconds since the epoch. An untagged segment has vid -1
 * here (a primary key column cannot be null).
 */
import type { Generated } from 'kysely';

export interface HostsTable {
  name: string;
  seq: number;
  /** SHA-256 of the report's bytes: a retry with the same seq and digest is a duplicate. */
  digest: string;
  instance: string;
  received_at: number;
  first_seen: number;
  period_ms: number;
  address: string | null;
  /** The report's bytes as the agent signed them; `encoding` says whether they are gzip'd. */
  report: Buffer;
  encoding: 'gzip' | 'identity';
}

export interface StateTable {
  id: number;
  version: number;
}

export interface SegmentsTable {
  host: string;
  interface: string;
  vid: number;
  fabric: string;
}

export interface PlacementsTable {
  host: string;
  interface: string;
  placement: string | null;
}

export interface PresenceTable {
  host: string;
  presence: string;
}

export interface HistoryTable {
  id: Generated<number>;
  time: number;
  kind: string;
  host: string;
  interface: string | null;
  vid: number | null;
  before: string | null;
  after: string | null;
}

export interface FleetDatabase {
  fleet_hosts: HostsTable;
  fleet_state: StateTable;
  fleet_segments: SegmentsTable;
  fleet_placements: PlacementsTable;
  fleet_presence: PresenceTable;
  fleet_history: HistoryTable;
}

/** The column value of an untagged segment. */
export const UNTAGGED = -1;
