/** `netbeacon fleet serve`: the long-running fleet service. */
import { InvalidArgumentError, type Command } from 'commander';
import { createLogger, LOG_LEVELS, type LogLevel } from '../../log';
import { addSecretOption, numberArg } from '../options';
import { loadFleetConfig, readTokenFile, type FleetConfig, type FleetFlags } from '../../fleet/config';
import { parseDbUrl } from '../../fleet/db';
import { parseFleetListen } from '../../fleet/listen';
import { FleetService } from '../../fleet/service';
import { deriveFleetKey } from '../../fleet/model/auth';
import { loadSecret } from '../../secret/secret';
import { sdNotify } from '../../agent/system';

interface ServeOptions extends FleetFlags {
  config?: string;
  checkConfig?: boolean;
}

export function registerServe(fleet: Command): void {
  const cmd = fleet
    .command('serve')
    .description("run the fleet service: take agents' reports, keep the fleet model and its history, answer the read API")
    .option('-c, --config <file>', 'YAML config (default /etc/netbeacon/fleet.yaml when it exists); flags override it')
    .option('--check-config', 'validate the config (file and flags) and exit: 0 when valid, 2 with the key path when not')
    .option('--db <url>', 'sqlite:PATH (default sqlite:/var/lib/netbeacon/fleet.db, created on first start) or postgres://USER@HOST/DB (PostgreSQL 13+)')
    .option('--listen <address>', 'where to listen: [HOST:]PORT (default 127.0.0.1:9241) or unix:/path')
    .option('--read-token-file <file>', "require Authorization: Bearer TOKEN (the file's first line) on the read side")
    .option('--max-report-bytes <n>', 'refuse larger reports with 413 (default 8388608)', numberArg('--max-report-bytes', 4096, 1024 * 1024 * 1024, true))
    .option('--log-level <level>', `log level: ${LOG_LEVELS.join(', ')} (default info)`, (v: string) => {
      if (!(LOG_LEVELS as readonly string[]).includes(v)) throw new InvalidArgumentError(`--log-level must be one of ${LOG_LEVELS.join(', ')}`);
      return v as LogLevel;
    })
    .addHelpText(
      'after',
      [
        '',
        'Agents report with `netbeacon agent --fleet URL`; reports are signed with a key derived from the MAAS secret,',
        'so the service needs the same secret (--secret-file, as elsewhere). The schema is migrated at start; a database',
        'written by a newer netbeacon is refused. Several servers may share one PostgreSQL database.',
        'SIGTERM/SIGINT stop it cleanly. Under systemd (Type=notify) it reports READY=1 once listening.',
        '',
        'Examples:',
        '  netbeacon fleet serve --secret-file /var/lib/maas/secret',
        '  netbeacon fleet serve --db postgres://netbeacon@db.example/fleet --listen 0.0.0.0:9241',
      ].join('\n'),
    );
  addSecretOption(cmd).action(async (opts: ServeOptions) => {
    const config = loadFleetConfig(opts.config, opts);
    const db = parseDbUrl(config.db);
    parseFleetListen(config.listen);
    const secret = loadSecret(config.secretFile);
    if (secret.warning) process.stderr.write(`netbeacon: warning: ${secret.warning}\n`);
    const readToken = config.readTokenFile === undefined ? undefined : readTokenFile(config.readTokenFile, 'read token file');
    if (opts.checkConfig) {
      process.stdout.write(
        `config ${config.source ?? '(defaults: no file)'} is valid\ndatabase: ${db.display}\nlisten: ${config.listen}\nsecret: ${secret.path} (from ${secret.from})\n`,
      );
      return;
    }
    await serve(config, deriveFleetKey(secret.bytes), readToken);
  });
}

async function serve(config: FleetConfig, fleetKey: Uint8Array, readToken: string | undefined): Promise<void> {
  const log = createLogger(config.logLevel);
  const logFn = (level: 'info' | 'warn' | 'error' | 'debug', msg: string, fields?: Record<string, unknown>): void => log[level]({ ...fields }, msg);
  const db = parseDbUrl(config.db);
  const service = await FleetService.start({
    db,
    listen: parseFleetListen(config.listen),
    fleetKey,
    ...(readToken !== undefined ? { readToken } : {}),
    maxReportBytes: config.maxReportBytes,
    maxQueuedReports: config.maxQueuedReports,
    refreshMs: config.refreshMs,
    log: logFn,
  });
  log.info(
    { db: db.display, listen: service.address, migrations: service.applied, config: config.source, read_token: readToken !== undefined },
    `netbeacon fleet service listening on ${service.address}`,
  );
  sdNotify('READY=1\nSTATUS=serving');
  await new Promise<void>((resolve) => {
    const stop = (signal: string): void => {
      log.info({ signal }, 'stopping');
      sdNotify('STOPPING=1');
      void service.stop().then(resolve);
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
  log.info('netbeacon fleet service stopped');
  log.flush();
}
