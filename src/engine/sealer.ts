/** Builds the beacon sealer for the chosen engine (src/engine/select.ts chooses). */
import { JsBeaconSealer } from './js-sealer';
import { NativeBeaconSealer } from './native-sealer';
import type { BeaconSealer, EngineName } from './types';

export function createSealer(engine: EngineName): BeaconSealer {
  return engine === 'native' ? new NativeBeaconSealer() : new JsBeaconSealer();
}
