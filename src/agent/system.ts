/**
 * The daemon's contract with its supervisor: systemd readiness and
 * watchdog notifications, and dropping root after the rings are open.
 * Both need the addon (Unix datagram sockets, setresuid+capset); without
 * it they say why instead of pretending.
 */
import { readFileSync } from 'node:fs';
import { loadBinding } from '../engine/binding';
import { UsageError } from '../errors';

type SdNotify = (path: string, message: string) => void;
type DropPrivileges = (uid: number, gid: number) => { uid: number; gid: number };

function nativeFn<T>(name: string): T | string {
  const b = loadBinding();
  if (!b.ok) return `the native addon is unavailable (${b.detail})`;
  const f = b.binding[name];
  return typeof f === 'function' ? (f as T) : `the native addon has no ${name}: rebuild it`;
}

/** Sends `message` to $NOTIFY_SOCKET; returns false (and why) when there is no supervisor or no addon. */
export function sdNotify(message: string, env: NodeJS.ProcessEnv = process.env): { sent: boolean; why?: string } {
  const path = env.NOTIFY_SOCKET;
  if (!path) return { sent: false, why: 'NOTIFY_SOCKET is not set (not started by systemd with Type=notify)' };
  const f = nativeFn<SdNotify>('sdNotify');
  if (typeof f === 'string') return { sent: false, why: f };
  f(path, message);
  return { sent: true };
}

/** Half of $WATCHDOG_USEC in ms, the interval systemd recommends, or undefined when no watchdog is set. */
export function watchdogIntervalMs(env: NodeJS.ProcessEnv = process.env): number | undefined {
  const usec = Number(env.WATCHDOG_USEC);
  if (!Number.isFinite(usec) || usec <= 0) return undefined;
  if (env.WATCHDOG_PID && Number(env.WATCHDOG_PID) !== process.pid) return undefined;
  return Math.max(100, Math.floor(usec / 2000));
}

export interface Account {
  readonly name: string;
  readonly uid: number;
  readonly gid: number;
}

/** Look a user up in passwd text (a name or a numeric uid). */
export function findAccount(user: string, passwd: string): Account | undefined {
  for (const line of passwd.split('\n')) {
    const f = line.split(':');
    if (f.length < 7) continue;
    if (f[0] === user || f[2] === user) return { name: f[0]!, uid: Number(f[2]), gid: Number(f[3]) };
  }
  return undefined;
}

export function resolveAccount(user: string, passwdFile = '/etc/passwd'): Account {
  const found = findAccount(user, readFileSync(passwdFile, 'utf8'));
  if (!found) throw new UsageError('E_USER', `user "${user}" does not exist (in ${passwdFile})`);
  if (found.uid === 0) throw new UsageError('E_USER', `user "${user}" is root; name an unprivileged user to drop to`);
  return found;
}

/** Become `account`, keeping only CAP_NET_RAW. Throws with the failing step. */
export function dropPrivileges(account: Account): void {
  const f = nativeFn<DropPrivileges>('dropPrivileges');
  if (typeof f === 'string') throw new UsageError('E_PRIVILEGES', `cannot drop privileges to ${account.name}: ${f}`);
  f(account.uid, account.gid);
}
