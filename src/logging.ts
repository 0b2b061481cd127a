// Structured logs: one JSON object per line on stderr, for the worker and the SDK alike.
// Values under keys that name a secret, at any depth and in arrays too, and strings that look like
// a key or token whatever their key, are redacted as a last line of defence (rule 6).
import type { LogLevel, LogMetadata, Logger } from '@temporalio/common';
import { SECRET_VALUE } from './specs/common';

const LEVELS: LogLevel[] = ['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR'];
const SECRET_KEY = /token|password|passphrase|secret|private_?key|api_?key|authorization|credential|cookie/i;
const REDACTED = '[redacted]';

function redactValue(value: unknown, seen: WeakSet<object>): unknown {
  if (typeof value === 'string') return SECRET_VALUE.test(value) ? REDACTED : value;
  if (value === null || typeof value !== 'object') return value;
  if (seen.has(value)) return '[circular]';
  seen.add(value);
  if (Array.isArray(value)) return value.map((item) => redactValue(item, seen));
  if (value instanceof Error) return { name: value.name, message: redactValue(value.message, seen) };
  if (value instanceof Date) return value;
  if (ArrayBuffer.isView(value)) return `[${value.byteLength} bytes]`;
  return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, SECRET_KEY.test(key) ? REDACTED : redactValue(item, seen)]));
}

export function redact(meta: LogMetadata | undefined): LogMetadata | undefined {
  if (!meta) return meta;
  return redactValue(meta, new WeakSet()) as LogMetadata;
}

export class JsonLogger implements Logger {
  constructor(
    private readonly minLevel: LogLevel = 'INFO',
    private readonly write: (line: string) => void = (line) => process.stderr.write(line + '\n'),
  ) {}

  log(level: LogLevel, message: string, meta?: LogMetadata): void {
    if (LEVELS.indexOf(level) < LEVELS.indexOf(this.minLevel)) return;
    const entry = { time: new Date().toISOString(), level, message: redactValue(message, new WeakSet()), ...redact(meta) };
    this.write(JSON.stringify(entry, (_key, value: unknown) => (typeof value === 'bigint' ? value.toString() : value)));
  }

  trace(message: string, meta?: LogMetadata): void {
    this.log('TRACE', message, meta);
  }
  debug(message: string, meta?: LogMetadata): void {
    this.log('DEBUG', message, meta);
  }
  info(message: string, meta?: LogMetadata): void {
    this.log('INFO', message, meta);
  }
  warn(message: string, meta?: LogMetadata): void {
    this.log('WARN', message, meta);
  }
  error(message: string, meta?: LogMetadata): void {
    this.log('ERROR', message, meta);
  }
}
