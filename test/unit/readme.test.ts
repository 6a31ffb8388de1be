/**
 * Issue 9: every command shown in the README is run by a test. This one
 * reads the `netbeacon …` commands out of the README's code blocks and
 * checks each against the real CLI (its `--help`, in-process): the
 * subcommand exists and so does every option it uses. The examples that
 * can run here, on ../shared/vectors/maas (observe, encode, decode, doctor),
 * are run for real and their key lines compared with what the README
 * shows. The examples that need root and a network (agent, demo, discover,
 * probe, mtu, vlans) are run by the integration tests in test/integration/.
 */
import t from 'tap';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { runInProcess } from '../helpers/inprocess';
import { corpusCases, vector } from '../helpers/corpus';

const README = readFileSync(resolve(__dirname, '..', '..', 'README.md'), 'utf8');

interface Shown {
  line: number;
  text: string;
  /** The words after `netbeacon`. */
  argv: string[];
  /** The block's lines after this command, up to the next prompt: its output as shown. */
  output: string[];
}

/** Shell words, with single and double quotes; `# …` ends the line. */
function words(s: string): string[] {
  const out: string[] = [];
  const re = /\s*(?:'([^']*)'|"((?:[^"\\]|\\.)*)"|(#.*$)|(\S+))/gy;
  let m: RegExpExecArray | null;
  while ((m = re.exec(s)) && m[0].trim() !== '') {
    if (m[3] !== undefined) break;
    out.push(m[1] ?? m[2] ?? m[4]!);
  }
  return out;
}

/**
 * Commands in ```sh blocks: in a block with `$ ` prompts only the prompt
 * lines are commands (the rest is output); otherwise every line is.
 */
export function shownCommands(md: string): Shown[] {
  const lines = md.split('\n');
  const shown: Shown[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\w*)/.exec(lines[i]!);
    if (!open) continue;
    let end = i + 1;
    while (end < lines.length && !lines[end]!.startsWith('```')) end++;
    if (open[1] === 'sh' || open[1] === 'console' || open[1] === '') {
      const block = lines.slice(i + 1, end);
      const prompted = block.some((l) => l.startsWith('$ '));
      block.forEach((l, k) => {
        if (prompted && !l.startsWith('$ ')) return;
        const w = words(l.replace(/^\$ /, ''));
        // The command word only: `systemctl enable netbeacon` or `journalctl -u netbeacon` is not one.
        const at = w.findIndex((x, n) => x === 'netbeacon' && (n === 0 || ['sudo', 'npx', '|'].includes(w[n - 1]!)));
        if (at < 0) return;
        const output: string[] = [];
        for (let j = k + 1; j < block.length && !block[j]!.startsWith('$ '); j++) output.push(block[j]!);
        shown.push({ line: i + 2 + k, text: l, argv: w.slice(at + 1), output });
      });
    }
    i = end;
  }
  return shown;
}

interface Help {
  long: Set<string>;
  short: Set<string>;
}

const helpCache = new Map<string, Help | null>();
async function helpOf(sub: string): Promise<Help | null> {
  if (helpCache.has(sub)) return helpCache.get(sub)!;
  const r = await runInProcess([sub, '--help']);
  let help: Help | null = null;
  if (r.code === 0 && r.stdout.startsWith(`Usage: netbeacon ${sub}`)) {
    help = { long: new Set(['--help']), short: new Set(['-h']) };
    for (const m of r.stdout.matchAll(/^ {2}(?:(-\w), )?(--[\w-]+)/gm)) {
      if (m[1]) help.short.add(m[1]);
      help.long.add(m[2]!);
    }
  }
  helpCache.set(sub, help);
  return help;
}

/** What is wrong with one shown command: an unknown subcommand or option. */
export async function problems(c: Shown): Promise<string[]> {
  const [sub, ...rest] = c.argv;
  if (sub === undefined) return [`README line ${c.line}: \`netbeacon\` without a subcommand`];
  if (sub === '--help' || sub === '--version') return [];
  const help = await helpOf(sub);
  if (!help) return [`README line ${c.line}: \`netbeacon ${sub}\` is not a netbeacon command`];
  const out: string[] = [];
  for (const w of rest) {
    if (w.startsWith('--')) {
      const name = w.split('=')[0]!;
      if (!help.long.has(name)) out.push(`README line ${c.line}: \`netbeacon ${sub}\` has no option ${name}`);
    } else if (/^-\w$/.test(w) && !help.short.has(w)) out.push(`README line ${c.line}: \`netbeacon ${sub}\` has no option ${w}`);
  }
  return out;
}

const shown = shownCommands(README);

t.test('the README shows commands, and the checker sees them', async (t) => {
  t.ok(shown.length >= 10, `${shown.length} commands found`);
  t.ok(
    shown.some((c) => c.argv.join(' ') === 'demo'),
    'the quick start runs the demo',
  );
  t.ok(
    shown.some((c) => c.argv.join(' ') === 'agent --secret-file /var/lib/maas/secret'),
    'and the agent on a real rack',
  );
});

t.test('every command and option shown in the README exists', async (t) => {
  for (const c of shown) t.same(await problems(c), [], `line ${c.line}: netbeacon ${c.argv.join(' ')}`);
});

t.test('the checker fails on a command or option that does not exist', async (t) => {
  const fake = shownCommands('```sh\n$ netbeacon frobnicate --now\n$ sudo netbeacon observe --bogus -q x\n$ netbeacon observe --stats\n```\n');
  t.equal(fake.length, 3);
  t.match(await problems(fake[0]!), [/`netbeacon frobnicate` is not a netbeacon command/]);
  t.same((await problems(fake[1]!)).length, 2, '--bogus and -q');
  t.same(await problems(fake[2]!), []);
});

/** The shown command with README's file names pointed at the MAAS vectors. */
function onVectors(c: Shown): string[] {
  const files: Record<string, string> = { secret: vector('secret'), 'corpus.pcap': vector('corpus.pcap'), '/var/lib/maas/secret': vector('secret') };
  return c.argv.map((w) => files[w] ?? w);
}

/** stderr without the warning about the vectors' world-readable secret file. */
const errLines = (stderr: string): string =>
  stderr
    .split('\n')
    .filter((l) => l !== '' && !l.startsWith('netbeacon: warning:'))
    .join('\n');

const find = (sub: string, pred: (c: Shown) => boolean = () => true): Shown => {
  const c = shown.find((x) => x.argv[0] === sub && pred(x));
  if (!c) throw new Error(`the README shows no \`netbeacon ${sub}\` example`);
  return c;
};

t.test('observe on the corpus prints what the README shows', async (t) => {
  const c = find('observe');
  const r = await runInProcess(onVectors(c));
  t.equal(r.code, 0, r.stderr);
  t.equal(r.stdout.split('\n')[0], c.output[0], 'the first beacon line');
  t.equal(
    errLines(r.stderr),
    c.output.find((l) => l.startsWith('netbeacon: packets=')),
    'the --stats line',
  );
});

t.test('encode prints a beacon that decodes back', async (t) => {
  const c = find('encode');
  const r = await runInProcess(onVectors(c));
  t.equal(r.code, 0, r.stderr);
  const hex = r.stdout.trim();
  const shownPrefix = c.output[0]!.replace(/…$/, '');
  t.match(hex, /^020100[0-9a-f]{2}80[0-9a-f]+$/, 'a v2 solicitation header, then a Fernet token');
  t.equal(hex.slice(0, 6), shownPrefix.slice(0, 6), 'the README shows the same header');
  const back = await runInProcess(['decode', '--secret-file', vector('secret'), hex]);
  t.equal(back.code, 0, back.stderr);
  t.match(JSON.parse(back.stdout), { version: 2, type: 'solicitation', payload: { remote: { name: 'eth0' }, type: 1 } });
});

t.test('decode, with --at and without, as the README shows', async (t) => {
  const withAt = find('decode', (c) => c.argv.includes('--at'));
  const ulid = /"ulid":"(\w+)"/.exec(withAt.output[0]!)?.[1];
  t.ok(ulid, 'the README shows a ULID');
  const kase = corpusCases().find((k) => k.beacon?.payload?.ulid === ulid && k.udp_payload_hex);
  t.ok(kase, 'the corpus holds that beacon');
  const prefix = withAt.argv.at(-1)!.replace(/…$/, '');
  t.ok(kase!.udp_payload_hex!.startsWith(prefix), `its hex starts ${prefix}`);
  const run = (c: Shown) => runInProcess([...onVectors(c).slice(0, -1), kase!.udp_payload_hex!]);
  const r = await run(withAt);
  t.equal(r.code, 0, r.stderr);
  const [before, after] = withAt.output[0]!.split('{…}');
  t.ok(r.stdout.startsWith(before!), `starts as shown: ${before}`);
  t.ok(r.stdout.trim().endsWith(after!), `ends as shown: ${after}`);
  const now = find('decode', (c) => !c.argv.includes('--at'));
  const late = await run(now);
  t.equal(late.code, 1, 'exit code 1, as the README says');
  t.equal(errLines(late.stderr), words(now.output[0]!).join(' '), 'the message shown');
});

t.test('doctor prints the lines the README shows', async (t) => {
  const c = find('doctor');
  const r = await runInProcess(onVectors(c));
  const labels = (text: string[]) => text.map((l) => /^(\w+)/.exec(l)?.[1]).filter((x): x is string => x !== undefined);
  t.same(labels(r.stdout.trimEnd().split('\n')), labels(c.output), 'the same lines in the same order');
  t.equal(r.stdout.split('\n')[0], c.output[0], 'the version line');
  t.match(
    r.stdout,
    new RegExp(`secret +found: ${vector('secret').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\(from --secret-file\\), key fingerprint [0-9a-f]{8}`),
  );
});

t.test('every subcommand has --help', async (t) => {
  // `netbeacon --version` is the program's option, not a subcommand (problems() lets it pass too).
  const subs = new Set(shown.map((c) => c.argv[0]!).filter((w) => !w.startsWith('-')));
  for (const s of subs) t.ok(await helpOf(s), `netbeacon ${s} --help`);
});

t.test('encode --format v3 prints a v3 beacon that decodes back as version 3', async (t) => {
  const c = find('encode', (x) => x.argv.includes('--format'));
  const r = await runInProcess(onVectors(c));
  t.equal(r.code, 0, r.stderr);
  const hex = r.stdout.trim();
  t.match(hex, /^030100[0-9a-f]+$/, 'a v3 solicitation header');
  t.equal(hex.slice(0, 6), c.output[0]!.slice(0, 6), 'the README shows the same header');
  t.equal(hex.slice(8, 16), c.output[0]!.slice(8, 16), "and the vector secret's key id");
  const back = await runInProcess(['decode', '--secret-file', vector('secret'), hex]);
  t.equal(back.code, 0, back.stderr);
  t.match(JSON.parse(back.stdout), { version: 3, type: 'solicitation', payload: { remote: { name: 'eth0' }, type: 1 } });
});
