/**
 * Structured JSON logs on stdout (pino), which suits journald. Per-beacon
 * detail only at debug level; the secret is never a field.
 */
import pino from 'pino';

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
export const LOG_LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

export type Logger = pino.Logger;

export function createLogger(level: LogLevel = 'info', destination: NodeJS.WritableStream | number = 1): Logger {
  return pino(
    {
      level,
      base: { name: 'netbeacon' },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      redact: { paths: ['secret', '*.secret', 'key', '*.key'], censor: '[redacted]' },
    },
    typeof destination === 'number' ? pino.destination({ fd: destination, sync: false }) : destination,
  );
}
