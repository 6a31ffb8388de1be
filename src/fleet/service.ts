/**
 * `netbeacon fleet serve` as one object: the store (migrated at open), the
 * model state, the HTTP server, and the loop that keeps the history up to
 * date. The loop recomputes at most every `refreshMs` and, when a model is
 * costly (a large fleet under a stream of reports), waits nine times as
 * long as the last computation took, so that the model takes at most a
 * tenth of the core and ingest the rest.
 */
import { FleetState } from './state';
import { FleetStore } from './store';
import { FleetServer } from './server';
import { fleetMetrics } from './metrics';
import type { DbTarget } from './db';
import type { ListenSpec } from './listen';

export interface FleetServiceOptions {
  readonly db: DbTarget;
  readonly listen: ListenSpec;
  readonly fleetKey: Uint8Array;
  readonly readToken?: string;
  readonly maxReportBytes?: number;
  /** PostgreSQL: reports that may wait for the database before new ones get 503 (default 1024). */
  readonly maxQueuedReports?: number;
  /** How often the history is brought up to date (ms; default 1000). */
  readonly refreshMs?: number;
  readonly clock?: () => number;
  readonly log?: (level: 'info' | 'warn' | 'error' | 'debug', msg: string, fields?: Record<string, unknown>) => void;
}

export class FleetService {
  readonly store: FleetStore;
  readonly state: FleetState;
  readonly server: FleetServer;
  readonly address: string;
  readonly applied: readonly string[];
  readonly #refreshMs: number;
  readonly #log: NonNullable<FleetServiceOptions['log']>;
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;
  #refreshing: Promise<void> | undefined;
  #lastError: string | undefined;

  private constructor(store: FleetStore, state: FleetState, server: FleetServer, address: string, applied: string[], opts: FleetServiceOptions) {
    this.store = store;
    this.state = state;
    this.server = server;
    this.address = address;
    this.applied = applied;
    this.#refreshMs = opts.refreshMs ?? 1000;
    this.#log = opts.log ?? (() => undefined);
  }

  static async start(opts: FleetServiceOptions): Promise<FleetService> {
    const log = opts.log ?? (() => undefined);
    const { store, applied } = await FleetStore.open(opts.db, {
      onPoolError: (err) => log('warn', `database connection lost: ${err.message}`),
      ...(opts.maxQueuedReports !== undefined ? { maxQueued: opts.maxQueuedReports } : {}),
    });
    try {
      const state = new FleetState(store, { ...(opts.clock ? { clock: opts.clock } : {}), log });
      const metrics = fleetMetrics(state, opts.db.kind);
      const server = new FleetServer({
        store,
        state,
        fleetKey: opts.fleetKey,
        ...(opts.readToken !== undefined ? { readToken: opts.readToken } : {}),
        ...(opts.maxReportBytes !== undefined ? { maxReportBytes: opts.maxReportBytes } : {}),
        metrics,
        ...(opts.clock ? { clock: opts.clock } : {}),
        log,
      });
      const address = await server.listen(opts.listen);
      const service = new FleetService(store, state, server, address, applied, opts);
      service.#schedule(0);
      return service;
    } catch (err) {
      await store.close();
      throw err;
    }
  }

  #schedule(delay: number): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => {
      this.#refreshing = this.refresh().then((buildMs) => this.#schedule(Math.max(this.#refreshMs, 9 * buildMs)));
    }, delay);
  }

  /** One round of the loop; returns how long the model took. Errors are logged once per kind, never thrown. */
  async refresh(): Promise<number> {
    try {
      const written = await this.state.refresh();
      if (written > 0) this.#log('debug', `history: ${written} changes`, { changes: written });
      if (this.#lastError) this.#log('info', 'the database answers again');
      this.#lastError = undefined;
      return this.state.cached?.buildMs ?? 0;
    } catch (err) {
      const msg = (err as Error).message;
      if (msg !== this.#lastError) this.#log('error', `cannot bring the fleet model up to date: ${msg}`);
      this.#lastError = msg;
      return 0;
    }
  }

  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    await this.server.close();
    await this.#refreshing;
    await this.store.close();
  }
}
