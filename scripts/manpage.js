#!/usr/bin/env node
// Writes netbeacon(1) in roff to stdout, from the CLI itself (dist/src/cli):
// every command, its arguments and options with their help text, so the man
// page the .deb ships cannot drift from `netbeacon CMD --help`. The README
// stays the long-form manual; the page points there.
//   node scripts/manpage.js [DATE] > netbeacon.1
'use strict';
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const { buildProgram } = require(path.join(root, 'dist', 'src', 'cli', 'main.js'));
const { VERSION } = require(path.join(root, 'dist', 'src', 'version.js'));

/** Text safe for roff: backslashes, leading dots and quotes, and dashes that are options. */
function esc(s) {
  return String(s)
    .replace(/\\/g, '\\e')
    .replace(/-/g, '\\-')
    .replace(/^([.'])/gm, '\\&$1');
}

function synopsis(cmd, prefix) {
  const args = cmd.registeredArguments.map((a) => (a.required ? `<${a.name()}${a.variadic ? '...' : ''}>` : `[${a.name()}${a.variadic ? '...' : ''}]`));
  return [prefix, cmd.name(), cmd.options.length ? '[options]' : '', ...args].filter(Boolean).join(' ');
}

function section(cmd, prefix, out) {
  if (cmd.commands.length > 0) {
    for (const sub of cmd.commands) section(sub, `${prefix} ${cmd.name()}`, out);
    return;
  }
  out.push('.SS ' + esc(synopsis(cmd, prefix)));
  out.push(esc(cmd.description()));
  for (const o of cmd.options) {
    out.push('.TP');
    out.push('.B ' + esc(o.flags));
    const extra = o.defaultValue !== undefined && typeof o.defaultValue !== 'boolean' ? ` (default ${JSON.stringify(o.defaultValue)})` : '';
    out.push(esc(o.description + extra));
  }
}

const date = process.argv[2] || new Date().toISOString().slice(0, 10);
const program = buildProgram();
const out = [
  `.TH NETBEACON 1 "${date}" "netbeacon ${VERSION}" "User Commands"`,
  '.SH NAME',
  'netbeacon \\- ' + esc(program.description()),
  '.SH SYNOPSIS',
  '.B netbeacon',
  '.I command',
  '[options]',
  '.br',
  '.B netbeacon',
  '.I command',
  '.B \\-\\-help',
  '.SH DESCRIPTION',
  esc(
    'netbeacon sends encrypted multicast beacons on every interface, listens below the IP stack and works out which interfaces share a fabric ' +
      "and which peers sit on which VLAN. It speaks MAAS's beacon protocol byte for byte. The agent runs under systemd as netbeacon.service; " +
      'the other commands ask it, or work on their own.',
  ),
  '.SH COMMANDS',
];
for (const cmd of program.commands) section(cmd, 'netbeacon', out);
out.push(
  '.SH FILES',
  '.TP',
  '.I /etc/netbeacon/netbeacon.yaml',
  esc('The agent configuration (every key is optional; flags override it). SIGHUP or systemctl reload netbeacon re-reads it.'),
  '.TP',
  '.I /var/lib/maas/secret',
  esc('The MAAS shared secret, handed to the service as the credential netbeacon-secret (LoadCredential=).'),
  '.TP',
  '.I /run/netbeacon/netbeacon.sock',
  esc("The running agent's control socket (status, hints, topology, watch)."),
  '.SH EXIT STATUS',
  esc(
    '0 on success; 1 when the command found a problem (no peer, drift, a mismatch, a failure a restart may cure); 2 for a usage error, a bad config or a missing secret; 3 for a capture file that is not what it should be; 70 for an internal error.',
  ),
  '.SH SEE ALSO',
  esc('netbeacon CMD --help, and the README: https://github.com/netbeacon/netbeacon#readme'),
  '',
);
process.stdout.write(out.join('\n'));
