/** The engines a suite runs over: JS always, native when the addon loads here. */
import { loadBinding } from '../../src/engine/binding';
import type { EngineName } from '../../src/engine/types';

export function enginesToTest(): EngineName[] {
  const state = loadBinding();
  if (!state.ok) {
    // Printed, not silent: a suite that quietly covers one engine is not the suite we think it is.
    console.error(`# native engine not tested here: ${state.why}: ${state.detail}`);
    return ['js'];
  }
  return ['js', 'native'];
}
