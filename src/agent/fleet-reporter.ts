/**
 * The agent's link to the fleet service (`agent --fleet URL`): it reports
 * the agent's whole current state at start, soon after every change and at
 * least once a period, and never from the capture path (an event only marks
 * the state dirty; reports are built and sent from a timer).
 *
 * When the service is down or slow the agent goes on beaconing: one request
 * at a time, each with a timeout, retried with exponential backoff (capped,
 * with jitter). Only the newest state waits: a report that failed is sent
 * again as it was (same seq and bytes, so a report the service stored before
 * the answer was lost is a harmless duplicate) unless the state changed
 * meanwhile, in which case the new state goes instead. `backlog` in
 * `status` counts the changes not yet delivered.
 */
import { gzipSync } from 'node:zlib';
import { ulid } from 'ulid';
import type { TopologyHint } from '../topology/hints';
import type { HostInterface } from '../topology/interfaces';
import { buildReport } from '../fleet/model/report';
import { signReport, SIGNATURE_HEADER } from '../fleet/model/auth';
import { describeTarget, sendRequest, type HttpResponse, type ServiceTarget } from '../net/http-client';
import { VERSION } from '../version';
import type { AgentCounters, AgentEvent } from './daemon';

/** What the reporter reads from the agent (the Agent class has all of it). */
export interface FleetReportSource {
  readonly interfaces: readonly HostInterface[];
  readonly engineName: string;
  readonly counters: AgentCounters;
  hints(): TopologyHint[];
  peers(): Array<{ interface: string; vid?: number; mac: string; name: string; last_seen: number; formats?: Array<'v2' | 'v3'>; key_id?: string }>;
  ringStats(): Record<string, { drops: number }>;
  on(event: 'event', listener: (e: AgentEvent) => void): unknown;
  off(event: 'event', listener: (e: AgentEvent) => void): unknown;
}

export interface FleetReporterOptions {
  readonly target: ServiceTarget;
  readonly name: string;
  readonly key: Uint8Array;
  /** At least one report this often (ms; default 30,000). */
  readonly periodMs?: number;
  /** A change is reported this long after it, so that a burst of hints goes in one report (default 500). */
  readonly debounceMs?: number;
  readonly timeoutMs?: number;
  /** The backoff after failures: 1 s, 2 s, 4 s… up to this (default: the period). */
  readonly maxBackoffMs?: number;
  readonly clock?: () => number;
  readonly random?: () => number;
  readonly log?: (level: 'info' | 'warn' | 'error' | 'debug', msg: string, fields?: Record<string, unknown>) => void;
}

/**
 * Events that change what a report says. `hint_expired` comes with hint
 * ageing; listening for it by name makes it count as soon as the agent
 * emits it.
 */
const CHANGES = new Set(['hint_added', 'hint_expired', 'interface_added', 'interface_removed', 'interface_gone', 'peer_seen', 'peer_gone']);

export interface FleetLinkStatus {
  readonly url: string;
  readonly name: string;
  readonly last_success: number | null;
  readonly last_attempt: number | null;
  readonly last_error: string | null;
  /** Failures since the last success. */
  readonly failures: number;
  readonly failures_total: number;
  readonly reports_sent: number;
  /** Changes not yet delivered (they all go in the next report: the newest state wins). */
  readonly backlog: number;
  readonly seq: number;
  readonly next_report_in_seconds: number | null;
}

export class FleetReporter {
  readonly #o: FleetReporterOptions;
  readonly #source: FleetReportSource;
  readonly #clock: () => number;
  readonly #instance = ulid();
  readonly #periodMs: number;
  #timer: NodeJS.Timeout | undefined;
  #dueAt: number | undefined;
  #stopped = true;
  #inFlight: Promise<void> | undefined;
  readonly #abort = new AbortController();
  #dirty = true;
  #pending: { body: Buffer; seq: number } | undefined;
  #seq = 0;
  #backlog = 0;
  #failures = 0;
  #failuresTotal = 0;
  #sent = 0;
  #staleInARow = 0;
  #lastSuccess: number | undefined;
  #lastAttempt: number | undefined;
  #lastError: string | undefined;
  readonly #onEvent = (e: AgentEvent): void => {
    if (!CHANGES.has(e.event)) return;
    this.#dirty = true;
    this.#backlog++;
    // Soon, unless a retry is already waiting out its backoff.
    if (this.#failures === 0) this.#schedule(this.#o.debounceMs ?? 500, true);
  };

  constructor(source: FleetReportSource, opts: FleetReporterOptions) {
    this.#source = source;
    this.#o = opts;
    this.#clock = opts.clock ?? Date.now;
    this.#periodMs = opts.periodMs ?? 30_000;
  }

  start(): void {
    this.#stopped = false;
    this.#source.on('event', this.#onEvent);
    this.#schedule(0);
  }

  /** Stops reporting; a request in flight is abandoned (a slow service must not hold up a shutdown). */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#source.off('event', this.#onEvent);
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#abort.abort();
    await this.#inFlight;
  }

  /** `earlier`: only move the next report forward, never back. */
  #schedule(delayMs: number, earlier = false): void {
    if (this.#stopped) return;
    const at = this.#clock() + delayMs;
    if (earlier && this.#dueAt !== undefined && this.#dueAt <= at) return;
    if (this.#timer) clearTimeout(this.#timer);
    this.#dueAt = at;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#dueAt = undefined;
      if (this.#inFlight) return; // its completion schedules the next one
      this.#inFlight = this.#attempt().finally(() => (this.#inFlight = undefined));
    }, delayMs);
    this.#timer.unref();
  }

  #makeReport(): { body: Buffer; seq: number } {
    const now = this.#clock();
    // Above every earlier report, also those of an earlier run of the agent
    // (unless the clock went back: then the service's 409 tells us where to go on).
    this.#seq = Math.max(this.#seq + 1, now);
    const c = this.#source.counters;
    let valid = 0;
    let rejected = 0;
    for (const byResult of Object.values(c.received)) {
      for (const [r, n] of Object.entries(byResult)) {
        if (r === 'valid') valid += n;
        else rejected += n;
      }
    }
    let sent = 0;
    for (const byType of Object.values(c.sent)) for (const n of Object.values(byType)) sent += n;
    const ringDrops = Object.values(this.#source.ringStats()).reduce((n, s) => n + s.drops, 0);
    const report = buildReport({
      host: this.#o.name,
      seq: this.#seq,
      instance: this.#instance,
      timeMs: now,
      periodSeconds: this.#periodMs / 1000,
      agent: { version: VERSION, engine: this.#source.engineName },
      interfaces: this.#source.interfaces,
      hints: this.#source.hints(),
      peers: this.#source.peers(),
      counters: {
        received_valid: valid,
        received_rejected: rejected,
        sent,
        replays: c.replays,
        // v3 replays are of an authenticated (key id, ULID): the fleet tells them apart from v2's.
        replays_v2: c.replaysByFormat.v2,
        replays_v3: c.replaysByFormat.v3,
        send_failures: c.sendFailures,
        ring_drops: ringDrops,
      },
    });
    // gzip'd: a report is tens of kilobytes of repetitive JSON, a tenth of
    // that compressed, for the network and the service's database alike.
    return { body: gzipSync(JSON.stringify(report)), seq: this.#seq };
  }

  async #attempt(): Promise<void> {
    if (this.#dirty || !this.#pending) {
      this.#pending = this.#makeReport();
      this.#dirty = false;
    }
    const { body, seq } = this.#pending;
    this.#lastAttempt = this.#clock();
    let res: HttpResponse;
    try {
      res = await sendRequest(this.#o.target, {
        method: 'POST',
        path: '/api/v1/reports',
        headers: { 'content-type': 'application/json', 'content-encoding': 'gzip', [SIGNATURE_HEADER]: signReport(this.#o.key, body) },
        body,
        timeoutMs: this.#o.timeoutMs ?? 10_000,
        maxBytes: 64 * 1024,
        signal: this.#abort.signal,
      });
    } catch (err) {
      if (this.#stopped) return;
      this.#failed(`cannot reach ${describeTarget(this.#o.target)}: ${(err as Error).message}`);
      return;
    }
    const answer = readAnswer(res.body);
    if (res.status === 200) {
      this.#lastSuccess = this.#clock();
      if (this.#failures > 0) this.#o.log?.('info', `fleet: reported to ${describeTarget(this.#o.target)} again`, { failures: this.#failures });
      this.#failures = 0;
      this.#staleInARow = 0;
      this.#lastError = undefined;
      this.#sent++;
      this.#pending = undefined;
      if (!this.#dirty) this.#backlog = 0;
      this.#schedule(this.#dirty ? (this.#o.debounceMs ?? 500) : this.#periodMs);
      return;
    }
    if (res.status === 409 && typeof answer.current_seq === 'number' && ++this.#staleInARow <= 3) {
      // The service holds a newer seq for this name than ours (our clock went
      // back): continue above it, with the current state.
      this.#seq = Math.max(this.#seq, answer.current_seq);
      this.#pending = undefined;
      this.#dirty = true;
      this.#o.log?.('warn', `fleet: the service already has seq ${answer.current_seq} for ${this.#o.name}; going on above it`, { seq });
      this.#schedule(0);
      return;
    }
    const why =
      res.status === 409
        ? `the service keeps refusing ${this.#o.name}'s reports as older than its own: does another agent report under --name ${this.#o.name}?`
        : `${describeTarget(this.#o.target)} answered ${res.status}: ${typeof answer.message === 'string' ? answer.message : res.body.toString('utf8').slice(0, 200)}`;
    this.#failed(why);
  }

  #failed(why: string): void {
    this.#failures++;
    this.#failuresTotal++;
    if (why !== this.#lastError) this.#o.log?.('warn', `fleet: report not delivered: ${why}`, { failures: this.#failures });
    this.#lastError = why;
    const max = this.#o.maxBackoffMs ?? this.#periodMs;
    const base = Math.min(max, 1000 * 2 ** Math.min(this.#failures - 1, 20));
    // ±25% jitter, so that a thousand agents do not come back in step.
    this.#schedule(Math.round(base * (0.75 + 0.5 * (this.#o.random ?? Math.random)())));
  }

  status(): FleetLinkStatus {
    const s = (t: number | undefined): number | null => (t === undefined ? null : t / 1000);
    return {
      url: describeTarget(this.#o.target),
      name: this.#o.name,
      last_success: s(this.#lastSuccess),
      last_attempt: s(this.#lastAttempt),
      last_error: this.#lastError ?? null,
      failures: this.#failures,
      failures_total: this.#failuresTotal,
      reports_sent: this.#sent,
      backlog: this.#backlog,
      seq: this.#seq,
      next_report_in_seconds: this.#dueAt === undefined ? null : Math.max(0, (this.#dueAt - this.#clock()) / 1000),
    };
  }
}

function readAnswer(body: Buffer): Record<string, unknown> {
  try {
    const v = JSON.parse(body.toString('utf8')) as unknown;
    return typeof v === 'object' && v !== null ? (v as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}
