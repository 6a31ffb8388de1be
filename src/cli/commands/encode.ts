import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { BEACON_FORMATS, encodeBeacon, type BeaconFormat } from '../../protocol/beacon';
import { keyObjects } from '../../protocol/fernet';
import { sodiumReady } from '../../protocol/sodium';
import { withV3 } from '../../protocol/v3';
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
    .option('--format <format>', "v2 (MAAS's, the default) or v3 (docs/beacon-v3.md; MAAS racks drop it as an unknown version)", (v: string) => {
      if (!(BEACON_FORMATS as readonly string[]).includes(v)) throw new InvalidArgumentError(`--format must be one of ${BEACON_FORMATS.join(', ')}`);
      return v;
    })
    .addHelpText(
      'after',
      '\nExamples:\n  netbeacon encode --type solicitation --payload \'{"remote":{"name":"eth0"}}\' --secret-file /var/lib/maas/secret\n  netbeacon encode --type solicitation --format v3 --secret-file /var/lib/maas/secret',
    );
  addSecretOption(cmd).action(async (opts: { type: BeaconTypeName; payload: Record<string, unknown>; secretFile?: string; format?: BeaconFormat }) => {
    const format = opts.format ?? 'v2';
    let { key } = loadKey(opts.secretFile);
    if (format === 'v3') {
      await sodiumReady();
      key = withV3(key);
    }
    const { bytes } = encodeBeacon(keyObjects(key), opts.type, opts.payload, { nowMs: Date.now(), format });
    process.stdout.write(bytes.toString('hex') + '\n');
  });
}
