/**
 * Errors users see. Each has a stable `code` and the exit code the CLI uses;
 * messages name the file, key or packet and what is wrong with it.
 */
export class NetbeaconError extends Error {
  readonly code: string;
  readonly exitCode: number;
  constructor(code: string, message: string, exitCode = 1) {
    super(message);
    this.name = new.target.name;
    this.code = code;
    this.exitCode = exitCode;
  }
}

/** Bad invocation, missing or bad secret, bad config: exit 2. */
export class UsageError extends NetbeaconError {
  constructor(code: string, message: string) {
    super(code, message, 2);
  }
}

/** A capture file that is not what it should be: exit 3 (whole packets before the fault are still reported). */
export class CaptureError extends NetbeaconError {
  constructor(code: 'E_CAPTURE_FORMAT' | 'E_CAPTURE_LINKTYPE' | 'E_CAPTURE_TRUNCATED' | 'E_CAPTURE_IO', message: string) {
    super(code, message, 3);
  }
}

/** What went wrong with a file, in words (never its content). */
export function describeFsError(e: NodeJS.ErrnoException): string {
  switch (e.code) {
    case 'ENOENT':
      return 'does not exist';
    case 'EACCES':
    case 'EPERM':
      return 'is not readable (permission denied)';
    case 'EISDIR':
      return 'is a directory';
    default:
      return `cannot be read (${e.code ?? e.message})`;
  }
}
