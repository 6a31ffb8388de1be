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
  if (inputs.capture && !(inputs.hasNetRaw ?? hasCapability(CAP_NET_RAW))) {
    return 'no CAP_NET_RAW: AF_PACKET capture needs it (run as root or grant the capability)';
  }
  return undefined;
}
