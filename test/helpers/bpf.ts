/**
 * A classic BPF interpreter with Linux's semantics, for running filter
 * programs in unit tests: loads past the end of the packet make the
 * program return 0 (drop), division by zero returns 0, and the ancillary
 * loads at SKF_AD_OFF (-0x1000) read skb metadata: here the VLAN tag the
 * kernel stripped (`stripped`), as a packet socket on a live interface
 * sees it, and the interface the frame arrived on (`ifindex`). A program
 * from `tcpdump -dd` offline never uses them.
 */
export interface Insn {
  readonly code: number;
  readonly jt: number;
  readonly jf: number;
  readonly k: number;
}

export interface Skb {
  readonly data: Uint8Array;
  /** A tag the kernel removed from the frame before the filter ran. */
  readonly stripped?: { readonly tci: number; readonly tpid?: number };
  /** The interface it arrived on (SKF_AD_IFINDEX); 0 when not given. */
  readonly ifindex?: number;
}

const SKF_AD_OFF = -0x1000 >>> 0;
const SKF_AD_PROTOCOL = 0;
const SKF_AD_IFINDEX = 8;
const SKF_AD_VLAN_TAG = 44;
const SKF_AD_VLAN_TAG_PRESENT = 48;
const SKF_AD_VLAN_TPID = 60;

class Drop extends Error {}

/** tcpdump -dd output ("{ 0x28, 0, 0, 0x0000000c },") to instructions. */
export function parseDd(text: string): Insn[] {
  const out: Insn[] = [];
  for (const m of text.matchAll(/\{\s*(0x[0-9a-f]+|\d+),\s*(\d+),\s*(\d+),\s*(0x[0-9a-f]+|\d+)\s*\}/gi)) {
    out.push({ code: Number(m[1]), jt: Number(m[2]), jf: Number(m[3]), k: Number(m[4]) >>> 0 });
  }
  return out;
}

/** Runs `prog` on a packet; returns the kept length (0 = dropped). */
export function runBpf(prog: readonly Insn[], skb: Skb): number {
  try {
    return run(prog, skb);
  } catch (e) {
    if (e instanceof Drop) return 0;
    throw e;
  }
}

function load(skb: Skb, k: number, size: 1 | 2 | 4): number {
  if (k >= SKF_AD_OFF) return ancillary(skb, k - SKF_AD_OFF);
  const p = skb.data;
  if (k + size > p.length) throw new Drop();
  if (size === 1) return p[k]!;
  if (size === 2) return (p[k]! << 8) | p[k + 1]!;
  return ((p[k]! << 24) | (p[k + 1]! << 16) | (p[k + 2]! << 8) | p[k + 3]!) >>> 0;
}

function ancillary(skb: Skb, which: number): number {
  switch (which) {
    case SKF_AD_VLAN_TAG_PRESENT:
      return skb.stripped ? 1 : 0;
    case SKF_AD_VLAN_TAG:
      return skb.stripped ? skb.stripped.tci : 0;
    case SKF_AD_VLAN_TPID:
      return skb.stripped ? (skb.stripped.tpid ?? 0x8100) : 0;
    case SKF_AD_IFINDEX:
      return skb.ifindex ?? 0;
    case SKF_AD_PROTOCOL:
      return skb.data.length >= 14 ? (skb.data[12]! << 8) | skb.data[13]! : 0;
    default:
      throw new Error(`bpf: ancillary load ${which} is not supported by this interpreter`);
  }
}

function run(prog: readonly Insn[], skb: Skb): number {
  let a = 0;
  let x = 0;
  const mem = new Uint32Array(16);
  for (let pc = 0; pc < prog.length; pc++) {
    const { code, jt, jf, k } = prog[pc]!;
    const cls = code & 0x07;
    const size = code & 0x18;
    const mode = code & 0xe0;
    const src = code & 0x08 ? x : k;
    const sz = size === 0x00 ? 4 : size === 0x08 ? 2 : 1;
    switch (cls) {
      case 0x00: // LD
        if (mode === 0x00)
          a = k; // IMM
        else if (mode === 0x20)
          a = load(skb, k, sz); // ABS
        else if (mode === 0x40)
          a = load(skb, (x + k) >>> 0, sz); // IND
        else if (mode === 0x60)
          a = mem[k]!; // MEM
        else if (mode === 0x80)
          a = skb.data.length; // LEN
        else throw new Error(`bpf: bad LD mode ${code}`);
        break;
      case 0x01: // LDX
        if (mode === 0x00) x = k;
        else if (mode === 0x60) x = mem[k]!;
        else if (mode === 0x80) x = skb.data.length;
        else if (mode === 0xa0)
          x = (load(skb, k, 1) & 0x0f) * 4; // MSH
        else throw new Error(`bpf: bad LDX mode ${code}`);
        break;
      case 0x02:
        mem[k] = a;
        break;
      case 0x03:
        mem[k] = x;
        break;
      case 0x04: // ALU
        a = alu(code & 0xf0, a, src >>> 0);
        break;
      case 0x05: {
        // JMP
        const op = code & 0xf0;
        if (op === 0x00) {
          pc += k;
          break;
        }
        const s = src >>> 0;
        const cond = op === 0x10 ? a === s : op === 0x20 ? a > s : op === 0x30 ? a >= s : op === 0x40 ? (a & s) !== 0 : undefined;
        if (cond === undefined) throw new Error(`bpf: bad JMP ${code}`);
        pc += cond ? jt : jf;
        break;
      }
      case 0x06: // RET
        return ((code & 0x18) === 0x10 ? a : k) >>> 0;
      case 0x07: // MISC
        if (code & 0x80) a = x;
        else x = a;
        break;
    }
  }
  throw new Error('bpf: fell off the end of the program');
}

function alu(op: number, a: number, s: number): number {
  switch (op) {
    case 0x00:
      return (a + s) >>> 0;
    case 0x10:
      return (a - s) >>> 0;
    case 0x20:
      return Math.imul(a, s) >>> 0;
    case 0x30:
      if (s === 0) throw new Drop();
      return Math.floor(a / s) >>> 0;
    case 0x40:
      return (a | s) >>> 0;
    case 0x50:
      return (a & s) >>> 0;
    case 0x60:
      return s >= 32 ? 0 : (a << s) >>> 0;
    case 0x70:
      return s >= 32 ? 0 : a >>> s;
    case 0x80:
      return -a >>> 0;
    case 0x90:
      if (s === 0) throw new Drop();
      return (a % s) >>> 0;
    case 0xa0:
      return (a ^ s) >>> 0;
    default:
      throw new Error(`bpf: bad ALU op ${op}`);
  }
}
