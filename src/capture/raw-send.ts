/**
 * Sending whole Ethernet frames (tagged or not, DF or not) through the
 * addon's AF_PACKET sender (native/send.cc, reached only through
 * engine/binding.ts). MTU and VLAN probes, and the agent's answers to
 * them, need it: Node's dgram can set neither DF nor a VLAN tag. There is
 * no JS fallback (Node has no AF_PACKET), so when the addon cannot load
 * this says so, with the reason and the fix.
 *
 * Arguments are checked here, with errors naming the interface and the
 * frame, before native code runs; the addon checks lengths again.
 */
import { loadBinding, type BindingState } from '../engine/binding';
import { NetbeaconError } from '../errors';

/** The smallest frame is a bare Ethernet header; the largest a full IP datagram under two tags. */
export const MIN_FRAME = 14;
export const MAX_FRAME = 65535 + 18 + 8;

export interface RawSender {
  /** Sends one frame on `ifname`. Throws RawSendError. */
  send(ifname: string, frame: Uint8Array): void;
  /** Sends frames in order in one call; returns how many went. Throws RawSendError (with `sent`) when one fails. */
  sendBatch(ifname: string, frames: readonly Uint8Array[]): number;
}

/** A raw send that failed: `code` E_RAW_SEND, `errno` the errno name (EMSGSIZE, ENODEV, ENETDOWN…). */
export class RawSendError extends NetbeaconError {
  readonly interface: string;
  readonly errno: string | undefined;
  /** Frames of a batch that went before the failure. */
  readonly sent: number;
  constructor(ifname: string, message: string, errno: string | undefined, sent = 0) {
    super('E_RAW_SEND', message, 1);
    this.interface = ifname;
    this.errno = errno;
    this.sent = sent;
  }
}

type SendFrame = (ifname: string, frame: Uint8Array) => void;
type SendFrames = (ifname: string, data: Uint8Array, offsets: Uint32Array) => number;

/** Why raw frames cannot be sent here, or undefined when they can. */
export function rawSendUnavailable(state: BindingState = loadBinding()): string | undefined {
  if (!state.ok) return `raw frame sending needs the native engine, which is not available: ${state.detail}`;
  if (typeof state.binding.sendFrame !== 'function' || typeof state.binding.sendFrames !== 'function') {
    return 'raw frame sending needs the native engine, but this build of the addon has no sendFrame: rebuild with `npm run build:native`';
  }
  return undefined;
}

/** The addon's sender; NetbeaconError E_RAW_SEND_UNAVAILABLE (exit 1) when it cannot be had. */
export function openRawSender(state: BindingState = loadBinding()): RawSender {
  const why = rawSendUnavailable(state);
  if (why !== undefined || !state.ok) throw new NetbeaconError('E_RAW_SEND_UNAVAILABLE', why ?? 'the native engine is not available');
  const sendFrame = state.binding.sendFrame as SendFrame;
  const sendFrames = state.binding.sendFrames as SendFrames;
  return {
    send(ifname, frame) {
      checkName(ifname);
      checkFrame(ifname, frame, 0);
      try {
        sendFrame(ifname, frame);
      } catch (err) {
        throw translate(err, ifname, frame.length, 0);
      }
    },
    sendBatch(ifname, frames) {
      checkName(ifname);
      if (frames.length === 0) return 0;
      let total = 0;
      frames.forEach((f, i) => {
        checkFrame(ifname, f, i);
        total += f.length;
      });
      const data = new Uint8Array(total);
      const offsets = new Uint32Array(frames.length + 1);
      frames.forEach((f, i) => {
        data.set(f, offsets[i]);
        offsets[i + 1] = offsets[i]! + f.length;
      });
      try {
        return sendFrames(ifname, data, offsets);
      } catch (err) {
        const sent = typeof (err as { sent?: unknown }).sent === 'number' ? (err as { sent: number }).sent : 0;
        throw translate(err, ifname, frames[sent]?.length ?? 0, sent);
      }
    },
  };
}

function checkName(ifname: string): void {
  if (typeof ifname !== 'string' || ifname === '' || Buffer.byteLength(ifname) > 15) {
    throw new TypeError(`raw send: "${String(ifname)}" is not an interface name (1-15 bytes)`);
  }
}

function checkFrame(ifname: string, frame: Uint8Array, index: number): void {
  if (!(frame instanceof Uint8Array)) throw new TypeError(`raw send on ${ifname}: frame ${index} is not a Uint8Array`);
  if (frame.length < MIN_FRAME || frame.length > MAX_FRAME) {
    throw new RangeError(`raw send on ${ifname}: frame ${index} is ${frame.length} bytes; a frame is ${MIN_FRAME} to ${MAX_FRAME}`);
  }
}

/** The addon's system error, reworded for the errno an operator will meet. */
function translate(err: unknown, ifname: string, length: number, sent: number): RawSendError {
  const code = typeof (err as { code?: unknown }).code === 'string' ? (err as { code: string }).code : undefined;
  const detail = err instanceof Error ? err.message : String(err);
  const hint =
    code === 'EMSGSIZE'
      ? `: a ${length}-byte frame is larger than ${ifname}'s MTU allows`
      : code === 'ENODEV' || code === 'ENXIO'
        ? `: ${ifname} does not exist`
        : code === 'ENETDOWN'
          ? `: ${ifname} is down`
          : code === 'EPERM' || code === 'EACCES'
            ? ': raw sending needs CAP_NET_RAW (run as root or grant the capability)'
            : '';
  return new RawSendError(ifname, `cannot send on ${ifname}${hint} (${detail})`, code, sent);
}
