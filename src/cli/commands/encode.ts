import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { encodeBeacon } from '../../protocol/beacon';
import type { BeaconTypeName } from '../../protocol/header';
import { addSecretOption } from '../options';
import { loadKey } from '../../secret/load-key';

function parsePayload(text: string): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (err) {
    throw new InvalidArgumentError(`--payload is not JSON: ${(err as Error).message}`);
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new InvalidArgumentError('--payload must be a JSON object');
  return v as Record<string, unknown>;
}

export function register(program: Command): void {
  const cmd = program
    .command('encode')
    .description("build a beacon and print its UDP payload as hex (what MAAS's beaconing sends)")
    .requiredOption('--type <type>', 'solicitation or advertisement', (v: string) => {
      if (v !== 'solicitation' && v !== 'advertisement') throw new InvalidArgumentError('--type must be solicitation or advertisement');
      return v;
    })
    .option('--payload <json>', 'JSON object merged into the beacon (ulid and type are added)', parsePayload, {})
    .addHelpText('after', '\nExample:\n  netbeacon encode --type solicitation --payload \'{"remote":{"name":"eth0"}}\' --secret-file /var/lib/maas/secret');
  addSecretOption(cmd).action((opts: { type: BeaconTypeName; payload: Record<string, unknown>; secretFile?: string }) => {
    const { objects } = loadKey(opts.secretFile);
    const { bytes } = encodeBeacon(objects, opts.type, opts.payload, { nowMs: Date.now() });
    process.stdout.write(bytes.toString('hex') + '\n');
  });
}
