/**
 * Text for people: hints and fabrics as aligned tables. Machines get the
 * JSON forms (formatHintsJson, the Topology object); nothing parses this.
 */
import type { CorrelationEvent, DropReason } from './correlate';
import { sortHints, type TopologyHint } from './hints';
import type { ReplaySummary } from './replay';
import { formatSegment, segment, segmentKey, type Segment } from './segment';
import type { Fabric, PeerInterface, Topology } from './fabrics';

/** Columns padded to their widest cell, two spaces apart, no trailing blanks. */
export function formatTable(rows: readonly (readonly string[])[], indent = ''): string[] {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  return rows.map(
    (row) =>
      indent +
      row
        .map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]!)))
        .join('  ')
        .trimEnd(),
  );
}

const dash = (v: string | number | undefined): string => (v === undefined ? '-' : String(v));

export function renderHintsTable(hints: Iterable<TopologyHint>): string {
  const sorted = sortHints(hints);
  if (sorted.length === 0) return 'no topology hints\n';
  const rows = [['HINT', 'IFNAME', 'VID', 'RELATED_IFNAME', 'RELATED_VID', 'RELATED_MAC']];
  for (const h of sorted) rows.push([h.hint, h.ifname, dash(h.vid), dash(h.related_ifname), dash(h.related_vid), dash(h.related_mac)]);
  return formatTable(rows).join('\n') + '\n';
}

export function renderTopology(topology: Topology): string {
  if (topology.fabrics.length === 0) return 'no fabrics: no topology hints\n';
  return topology.fabrics.map(renderFabric).join('\n');
}

function renderFabric(f: Fabric): string {
  const peerCount = f.peers.length === 1 ? '1 peer interface' : `${f.peers.length} peer interfaces`;
  const segCount = f.segments.length === 1 ? '1 segment' : `${f.segments.length} segments`;
  const lines = [`${f.name}: ${segCount}, ${peerCount}`];
  const rows: string[][] = [['SEGMENT', 'WHY HERE']];
  for (const s of f.segments) {
    const reasons = reasonsFor(f, s);
    rows.push([formatSegment(s), reasons[0] ?? 'alone: no hint joins it to another segment']);
    for (const r of reasons.slice(1)) rows.push(['', r]);
  }
  lines.push(...formatTable(rows, '  '));
  if (f.peers.length > 0) {
    const peerRows: string[][] = [['PEER MAC', 'INTERFACE', 'VID', 'SEEN ON']];
    for (const p of f.peers) {
      const seen = p.seen_on.map((s) => `${formatSegment(s.segment)} (${kinds(s.hints)}${s.joins ? '' : ', not joined'})`);
      peerRows.push([p.mac, p.ifname, dash(p.vid), seen.join(', ')]);
    }
    lines.push(...formatTable(peerRows, '  '));
  }
  for (const h of f.loops) {
    lines.push(
      `  loop: ${formatSegment(segment(h.ifname, h.vid))} received its own beacon back on ${formatSegment(segment(h.related_ifname ?? h.ifname, h.related_vid))} (${h.hint})`,
    );
  }
  return lines.join('\n') + '\n';
}

/** One line per other segment or peer that put `s` in this fabric. */
function reasonsFor(f: Fabric, s: Segment): string[] {
  const key = segmentKey(s);
  const out: string[] = [];
  for (const link of f.links) {
    const [a, b] = link.segments;
    if (segmentKey(a) === key) out.push(`${formatSegment(b)}: ${kinds(link.hints)}`);
    else if (segmentKey(b) === key) out.push(`${formatSegment(a)}: ${kinds(link.hints)}`);
  }
  for (const p of f.peers) {
    const mine = p.seen_on.find((x) => x.joins && segmentKey(x.segment) === key);
    if (!mine) continue;
    const others = p.seen_on.filter((x) => x.joins && x !== mine).map((x) => formatSegment(x.segment));
    const also = others.length > 0 ? `, also heard on ${others.join(', ')}` : '';
    out.push(`peer ${describePeer(p)}: ${kinds(mine.hints)}${also}`);
  }
  return out;
}

function describePeer(p: PeerInterface): string {
  return `${p.ifname}${p.vid === undefined ? '' : ` vid ${p.vid}`} ${p.mac}`;
}

function kinds(hints: readonly TopologyHint[]): string {
  return [...new Set(hints.map((h) => h.hint))].sort().join(', ');
}

/** What a replay saw, in one paragraph, then the events with their lines. */
export function renderReplaySummary(source: string, s: ReplaySummary): string {
  const c = s.correlation;
  const dropped = Object.values(c.dropped).reduce((a, b) => a + b, 0);
  const fresh = c.received - dropped - c.replays - c.own - c.duplicates;
  const parts = [
    `${source}: ${s.transmitted} sent, ${s.received} received`,
    `(${c.own} own, ${c.duplicates} duplicate, ${fresh} new, ${c.replays} replayed, ${dropped} dropped);`,
    `${plural(c.hints, 'hint')}${s.hintsExpired > 0 ? ` (${s.hintsExpired} more aged out)` : ''};`,
    `${plural(s.replies, 'reply', 'replies')} would have been sent`,
  ];
  const lines = [parts.join(' ')];
  const dropReasons = Object.entries(c.dropped).filter(([, n]) => n > 0);
  if (dropReasons.length > 0) lines.push(`dropped: ${dropReasons.map(([r, n]) => `${n} ${r}`).join(', ')}`);
  if (c.tx.evicted + c.rx.evicted > 0) lines.push(`queues full: ${c.tx.evicted} sent and ${c.rx.evicted} received beacons forgotten early`);
  if (c.hintsRefused > 0) lines.push(`hint set full: ${plural(c.hintsRefused, 'hint')} not kept`);
  if (c.ageing.evicted > 0) lines.push(`hint support full: the hints of ${plural(c.ageing.evicted, 'ULID')} dropped before their time`);
  for (const { line, event } of s.events) lines.push(`${source}:${line}: ${describeEvent(event)}`);
  if (s.eventsOmitted > 0) lines.push(`... and ${plural(s.eventsOmitted, 'more event')}`);
  return lines.join('\n') + '\n';
}

function describeEvent(e: CorrelationEvent): string {
  const where = formatSegment(e.segment);
  const ulid = e.ulid === undefined ? '' : ` ${e.ulid}`;
  if (e.kind === 'replay') return `replay of${e.own ? ' own beacon' : ''}${ulid} on ${where}: already received there, ignored`;
  return `dropped${ulid} on ${where}: ${DROP_WORDS[e.reason]}`;
}

const DROP_WORDS: Readonly<Record<DropReason, string>> = {
  old_version: 'protocol version below 2',
  no_ulid: 'no ULID in the payload',
  expired: 'ULID older than the TTL (120 s) the queues and hints remember',
  future: 'ULID further ahead of the clock than the TTL (120 s)',
  too_many_segments: 'received on too many segments',
};

function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}
