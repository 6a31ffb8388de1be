/**
 * The one place that decides native or JS, and records why. Forced by
 * `--engine native|js|auto` or $NETBEACON_ENGINE; `native` fails clearly
 * when the addon cannot serve.
 */
import { UsageError } from '../errors';
import { loadBinding, type BindingState } from './binding';
import { CAP_NET_RAW, hasCapability } from './capabilities';
import type { EngineName } from './types';

export type EngineRequest = EngineName | 'auto';
export const ENGINE_REQUESTS: readonly EngineRequest[] = ['auto', 'native', 'js'];

export interface EngineChoice {
  readonly engine: EngineName;
  readonly requested: EngineRequest;
  /** One sentence an operator can act on. */
  readonly why: string;
  /** Why native is not possible, when it is not. */
  readonly nativeUnavailable?: string;
}

export interface ChoiceInputs {
  /** Live capture needs CAP_NET_RAW on top of a loadable addon; file decoding does not. */
  readonly capture: boolean;
  /** The addon export the capability needs (the batch sealer, NativeSealer): an addon built before it cannot serve it. */
  readonly needs?: string;
  readonly binding?: BindingState;
  readonly hasNetRaw?: boolean;
}

export function parseEngineRequest(value: string | undefined, where: string): EngineRequest {
  const v = value ?? 'auto';
  if ((ENGINE_REQUESTS as readonly string[]).includes(v)) return v as EngineRequest;
  throw new UsageError('E_ENGINE', `${where}: engine must be one of ${ENGINE_REQUESTS.join(', ')}, got "${v}"`);
}

/** The request from the flag, else $NETBEACON_ENGINE, else auto. */
export function engineRequest(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): EngineRequest {
  if (flag !== undefined) return parseEngineRequest(flag, '--engine');
  return parseEngineRequest(env.NETBEACON_ENGINE, 'NETBEACON_ENGINE');
}

export function chooseEngine(requested: EngineRequest, inputs: ChoiceInputs): EngineChoice {
  const state = inputs.binding ?? loadBinding();
  const why = nativeBlocker(state, inputs);
  if (requested === 'js') {
    return why === undefined
      ? { engine: 'js', requested, why: 'the JS engine was requested' }
      : { engine: 'js', requested, why: 'the JS engine was requested', nativeUnavailable: why };
  }
  if (why === undefined) {
    return { engine: 'native', requested, why: requested === 'native' ? 'the native engine was requested' : 'the native addon is built and loads' };
  }
  if (requested === 'native') throw new UsageError('E_ENGINE_NATIVE', `the native engine was requested but cannot run: ${why}`);
  return { engine: 'js', requested, why: `falling back to JS: ${why}`, nativeUnavailable: why };
}

function nativeBlocker(state: BindingState, inputs: ChoiceInputs): string | undefined {
  if (!state.ok) {
    const label = state.why === 'not-linux' ? 'not Linux' : state.why === 'not-built' ? 'the addon is not built' : 'the addon failed to load';
    return `${label} (${state.detail})`;
  }
  if (inputs.needs !== undefined && typeof state.binding[inputs.needs] !== 'function') {
    return `${state.path} has no ${inputs.needs} (an older build: rebuild with \`npm run build:native\`)`;
  }
  if (inputs.capture && !(inputs.hasNetRaw ?? hasCapability(CAP_NET_RAW))) {
    return 'no CAP_NET_RAW: AF_PACKET capture needs it (run as root or grant the capability)';
  }
  return undefined;
}

/** The engine that seals beacons (src/engine/sealer.ts): the addon's NativeSealer needs no capability, only the addon. */
export function chooseSealEngine(requested: EngineRequest, binding?: BindingState): EngineChoice {
  return chooseEngine(requested, binding ? { capture: false, needs: 'NativeSealer', binding } : { capture: false, needs: 'NativeSealer' });
}

/**
 * Interface discovery, native or JS, decided here too: the addon's
 * rtnetlink watcher (`netlink`: events, no process started) or the `ip`
 * poll it falls back to (`poll`). Forced with $NETBEACON_INTERFACES.
 */
export type InterfaceSourceName = 'netlink' | 'poll';
export type InterfaceSourceRequest = InterfaceSourceName | 'auto';
const INTERFACE_REQUESTS: readonly InterfaceSourceRequest[] = ['auto', 'netlink', 'poll'];

export interface InterfaceSourceChoice {
  readonly source: InterfaceSourceName;
  readonly requested: InterfaceSourceRequest;
  /** One sentence an operator can act on. */
  readonly why: string;
}

export function parseInterfaceSourceRequest(value: string | undefined): InterfaceSourceRequest {
  const v = value === undefined || value === '' ? 'auto' : value;
  if ((INTERFACE_REQUESTS as readonly string[]).includes(v)) return v as InterfaceSourceRequest;
  throw new UsageError('E_INTERFACES_SOURCE', `NETBEACON_INTERFACES: must be one of ${INTERFACE_REQUESTS.join(', ')}, got "${v}"`);
}

/** Why the addon's rtnetlink watcher cannot serve, or undefined when it can. */
export function netlinkBlocker(state: BindingState = loadBinding()): string | undefined {
  if (!state.ok) return state.detail;
  return typeof state.binding.NetlinkWatcher === 'function' ? undefined : 'the addon has no NetlinkWatcher (rebuild it: npm run build:native)';
}

/** The source to use; `unavailable` is netlinkBlocker()'s answer. */
export function chooseInterfaceSource(requested: InterfaceSourceRequest, unavailable: string | undefined, pollMs: number): InterfaceSourceChoice {
  const poll = `\`ip -j -d addr show\` every ${pollMs / 1000} s`;
  if (requested === 'poll') return { source: 'poll', requested, why: `${poll}: the poll was requested (NETBEACON_INTERFACES=poll)` };
  if (unavailable === undefined) {
    return { source: 'netlink', requested, why: 'rtnetlink link and address events through the addon (no process is started)' };
  }
  if (requested === 'netlink')
    throw new UsageError('E_INTERFACES_NETLINK', `NETBEACON_INTERFACES=netlink, but the rtnetlink watcher cannot run: ${unavailable}`);
  return { source: 'poll', requested, why: `${poll}, falling back: ${unavailable}` };
}
