/**
 * The I/O half of capture reading: streams a file (or stdin) through a
 * CaptureParser. All format knowledge lives in pcap.ts.
 */
import { open } from 'node:fs/promises';
import { CaptureError } from '../errors';
import { CaptureParser } from './pcap';
import type { CapturedPacket } from '../protocol/packet';

/** Large reads: the parser is linear in bytes, so fewer, bigger chunks mean fewer batches. */
export const READ_CHUNK_BYTES = 256 * 1024;

export interface ReadCaptureOptions {
  /** Bytes per read (default 256 KiB). */
  readonly chunkBytes?: number;
  /** What '-' reads instead of process.stdin (tests, or a pipe the caller opened). */
  readonly stdin?: AsyncIterable<Uint8Array | string>;
  /**
   * Packets may be views of the read buffer, valid only until the
   * consumer asks for the next batch (CaptureParser's `transient`): for a
   * consumer that is done with each batch before it asks for the next.
   */
  readonly transient?: boolean;
}

type CaptureCode = ConstructorParameters<typeof CaptureError>[0];

/**
 * Yields the packets of a capture, one batch per chunk read (chunks that
 * complete no packet yield nothing). `path` '-' reads standard input.
 * A capture cut short throws E_CAPTURE_TRUNCATED only after every whole
 * packet has been yielded; an open or read failure is E_CAPTURE_IO. Every
 * message starts with the file's name.
 */
export async function* readCapture(path: string, opts: ReadCaptureOptions = {}): AsyncGenerator<CapturedPacket[], void, undefined> {
  const label = path === '-' ? 'standard input' : `capture file ${path}`;
  const source: AsyncIterable<Uint8Array | string> = path === '-' ? (opts.stdin ?? process.stdin) : fileChunks(path, opts.chunkBytes ?? READ_CHUNK_BYTES);
  const chunks: AsyncIterator<Uint8Array | string, unknown> = source[Symbol.asyncIterator]();
  const parser = new CaptureParser({ transient: opts.transient === true });
  let finished = false;
  try {
    while (!finished) {
      // Only the read and the parse are wrapped: an error the consumer throws
      // into this generator at `yield` must reach it unchanged.
      let batch: CapturedPacket[] = [];
      try {
        const step = await chunks.next();
        if (step.done === true) {
          finished = true;
          parser.end();
        } else batch = parser.push(toBytes(step.value));
      } catch (err) {
        throw asCaptureError(err, label);
      }
      if (batch.length > 0) yield batch;
    }
  } finally {
    // The consumer stopped early, or parsing failed: close the file rather than leak it.
    if (!finished) await chunks.return?.();
  }
}

/**
 * A file's bytes in chunks read into ONE buffer, reused: the parser copies
 * whatever it keeps (the tail of a record, the packets), so nothing refers
 * to a chunk once the next is read. A fresh buffer per read, as a read
 * stream makes, cost a page fault per 4 KiB of capture.
 */
async function* fileChunks(path: string, size: number): AsyncGenerator<Uint8Array, void, undefined> {
  const handle = await open(path, 'r');
  try {
    const buf = Buffer.allocUnsafe(size);
    for (;;) {
      const { bytesRead } = await handle.read(buf, 0, size, null);
      if (bytesRead === 0) return;
      yield buf.subarray(0, bytesRead);
    }
  } finally {
    await handle.close();
  }
}

/** A stream with an encoding set yields strings; the bytes are what count. */
function toBytes(chunk: Uint8Array | string): Uint8Array {
  return typeof chunk === 'string' ? Buffer.from(chunk, 'latin1') : chunk;
}

/** The parser does not know where its bytes came from; the message should say. */
function asCaptureError(err: unknown, label: string): CaptureError {
  if (err instanceof CaptureError) return new CaptureError(err.code as CaptureCode, `${label}: ${err.message}`);
  const reason = err instanceof Error ? err.message : String(err);
  return new CaptureError('E_CAPTURE_IO', `cannot read ${label}: ${reason}`);
}
