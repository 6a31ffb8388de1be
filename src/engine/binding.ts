/**
 * The only module that touches the `.node` file. It finds and loads the
 * addon once and remembers why it could not, so that select.ts and doctor
 * can explain the engine choice. Everything native goes through
 * `loadBinding()`; nothing else may require the addon.
 *
 * The file is build/Release/netbeacon.node (node-gyp's, from `npm
 * install`), else build/Debug/netbeacon.node, unless $NETBEACON_ADDON names
 * another: then that file and no other (`npm run test:asan` points it at the
 * ASan build; falling back to the Release build would test the wrong one).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

/** The addon's exports. Each native/*.cc adds its own; see native/registry.h. */
export interface NativeBinding {
  readonly abiVersion: number;
  readonly [name: string]: unknown;
}

export type BindingState =
  | { readonly ok: true; readonly binding: NativeBinding; readonly path: string; readonly via?: 'NETBEACON_ADDON' }
  | { readonly ok: false; readonly why: 'not-linux' | 'not-built' | 'load-error'; readonly detail: string };

/** The package root: dist/src/engine -> ../../.., src/engine -> ../.. */
function packageRoot(): string {
  let dir = resolve(__dirname);
  for (let i = 0; i < 5; i++) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'binding.gyp'))) return dir;
    dir = resolve(dir, '..');
  }
  return resolve(__dirname, '..', '..');
}

const EXPECTED_ABI = 1;
let cached: BindingState | undefined;

export function loadBinding(): BindingState {
  if (cached) return cached;
  cached = findBinding(process.env);
  return cached;
}

/** loadBinding() without the cache, with the environment given (for tests). */
export function findBinding(env: NodeJS.ProcessEnv, platform: NodeJS.Platform = process.platform): BindingState {
  if (platform !== 'linux') {
    return { ok: false, why: 'not-linux', detail: `platform is ${platform}; the native engine needs Linux AF_PACKET` };
  }
  const override = env.NETBEACON_ADDON;
  if (override) {
    const path = resolve(override);
    if (!existsSync(path)) return { ok: false, why: 'not-built', detail: `NETBEACON_ADDON=${override}: ${path} does not exist` };
    return requireAddon(path, 'NETBEACON_ADDON');
  }
  const root = packageRoot();
  const candidates = [join(root, 'build', 'Release', 'netbeacon.node'), join(root, 'build', 'Debug', 'netbeacon.node')];
  const path = candidates.find((p) => existsSync(p));
  if (!path) {
    let detail = 'build/Release/netbeacon.node does not exist (run `npm run build:native`)';
    const status = join(root, 'build', 'native-status.json');
    if (existsSync(status)) {
      try {
        const s = JSON.parse(readFileSync(status, 'utf8')) as { reason?: string };
        if (s.reason) detail = `the native build failed: ${s.reason} (see build/native-status.json)`;
      } catch {
        /* an unreadable status file changes nothing: the addon is missing either way */
      }
    }
    return { ok: false, why: 'not-built', detail };
  }
  return requireAddon(path);
}

function requireAddon(path: string, via?: 'NETBEACON_ADDON'): BindingState {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const binding = require(path) as NativeBinding;
    if (binding.abiVersion !== EXPECTED_ABI) {
      return {
        ok: false,
        why: 'load-error',
        detail: `${path} has ABI ${String(binding.abiVersion)}, expected ${EXPECTED_ABI}: rebuild with \`npm run build:native\``,
      };
    }
    return via ? { ok: true, binding, path, via } : { ok: true, binding, path };
  } catch (err) {
    return { ok: false, why: 'load-error', detail: loadErrorDetail(path, err instanceof Error ? err.message : String(err)) };
  }
}

/** What dlopen said, and the fix when it is a sanitizer build loaded without its runtime. */
export function loadErrorDetail(path: string, message: string): string {
  if (/undefined symbol: __(asan|ubsan)_/.test(message)) {
    return `${path}: ${message} (a sanitizer build: it loads only with the sanitizer runtime preloaded, as \`npm run test:asan\` does)`;
  }
  return `${path}: ${message}`;
}
