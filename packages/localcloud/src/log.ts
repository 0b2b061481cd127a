// The local cloud's own structured log: one JSON object per line on stderr. Values under keys that
// name a secret are redacted, and strings that look like a private key or an API token, because
// droplet command errors may quote what a droplet was given.
type Fields = Record<string, unknown>;

const SECRET_KEY = /token|password|passphrase|secret|private_?key|api_?key|authorization|credential|cookie/i;
const SECRET_VALUE = /-----BEGIN [A-Z ]*PRIVATE KEY-----|\bdop_v1_[A-Za-z0-9]+|\bdo[or]_v1_[A-Za-z0-9]+/;

function redact(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return SECRET_VALUE.test(value) ? '[redacted]' : value;
  if (value === null || typeof value !== 'object' || depth > 8) return value;
  if (Array.isArray(value)) return value.map((item) => redact(item, depth + 1));
  return Object.fromEntries(
    Object.entries(value).map(([key, item]) => [key, SECRET_KEY.test(key) ? '[redacted]' : redact(item, depth + 1)]),
  );
}

function write(level: 'INFO' | 'WARN' | 'ERROR', message: string, fields: Fields = {}): void {
  process.stderr.write(
    JSON.stringify({ time: new Date().toISOString(), level, message: redact(message), ...(redact(fields) as Fields) }) + '\n',
  );
}

export const log = {
  info: (message: string, fields?: Fields) => write('INFO', message, fields),
  warn: (message: string, fields?: Fields) => write('WARN', message, fields),
  error: (message: string, fields?: Fields) => write('ERROR', message, fields),
};
