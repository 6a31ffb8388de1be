import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { decodeBeacon } from '../../engine/decode';
import { chooseEngine, engineRequest } from '../../engine/select';
import { createVerifier } from '../../engine/verifier';
import { addEngineOption, addSecretOption, numberArg } from '../options';
import { loadKey } from '../../secret/load-key';
import { sodiumReady } from '../../protocol/sodium';
import { V3_VERSION, withV3 } from '../../protocol/v3';

function parseHex(text: string): Buffer {
  const hex = text.replace(/\s+/g, '');
  if (hex.length === 0 || hex.length % 2 !== 0 || !/^[0-9a-fA-F]+$/.test(hex)) {
    throw new InvalidArgumentError('HEX must be an even number of hex digits (a beacon UDP payload)');
  }
  return Buffer.from(hex, 'hex');
}

export function register(program: Command): void {
  const cmd = program
    .command('decode')
    .description('verify and decrypt one beacon UDP payload given as hex; prints {version, type, payload}')
    .argument('<hex>', 'the UDP payload, hex', parseHex)
    .option('--at <epoch-seconds>', 'judge the token age at this time instead of now', numberArg('--at', 0, 2 ** 40))
    .addHelpText(
      'after',
      '\nBeacon format v3 (version byte 3, docs/beacon-v3.md) is recognised and decoded too.\nExits 0 with the beacon as JSON, or 1 with the rejection reason on stderr.\n\nExample:\n  netbeacon decode --at 1795000000 --secret-file ./secret 020100e98000…',
    );
  addEngineOption(addSecretOption(cmd)).action(async (bytes: Buffer, opts: { at?: number; secretFile?: string; engine?: string }) => {
    const choice = chooseEngine(engineRequest(opts.engine), { capture: false });
    let { key } = loadKey(opts.secretFile);
    // v3 is recognised by its version byte (docs/beacon-v3.md).
    if (bytes[0] === V3_VERSION) {
      await sodiumReady();
      key = withV3(key);
    }
    const verdict = decodeBeacon(createVerifier(choice.engine, key), bytes, opts.at ?? Date.now() / 1000);
    if (!verdict.ok) {
      process.stderr.write(`netbeacon: rejected: ${verdict.reason}\n`);
      process.exitCode = 1;
      return;
    }
    process.stdout.write(JSON.stringify({ version: verdict.version, type: verdict.type, payload: verdict.payload }) + '\n');
  });
}
