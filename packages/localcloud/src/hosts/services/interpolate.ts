// Compose's variable syntax, for compose files and .env files: $VAR, ${VAR}, ${VAR:-default},
// ${VAR-default}, ${VAR:?error}, ${VAR?error}, ${VAR:+alt}, ${VAR+alt} and $$ for a literal $.
// Defaults may hold variables themselves: ${TAG:-${DEFAULT_TAG}}.

export type Lookup = (name: string) => string | undefined;

export class InterpolationError extends Error {}

export function interpolate(text: string, lookup: Lookup, warn: (message: string) => void = () => undefined): string {
  let out = '';
  let i = 0;
  while (i < text.length) {
    const char = text[i]!;
    if (char !== '$') {
      out += char;
      i++;
      continue;
    }
    const next = text[i + 1];
    if (next === '$') {
      out += '$';
      i += 2;
    } else if (next === '{') {
      const end = closingBrace(text, i + 2);
      if (end === -1) throw new InterpolationError(`invalid interpolation format for ${JSON.stringify(text)}: missing closing brace`);
      out += expand(text.slice(i + 2, end), text, lookup, warn);
      i = end + 1;
    } else {
      const name = /^[A-Za-z_][A-Za-z0-9_]*/.exec(text.slice(i + 1))?.[0];
      if (!name) {
        out += '$';
        i++;
        continue;
      }
      out += valueOf(name, lookup, warn);
      i += 1 + name.length;
    }
  }
  return out;
}

function closingBrace(text: string, from: number): number {
  let depth = 1;
  for (let i = from; i < text.length; i++) {
    if (text[i] === '$' && text[i + 1] === '{') {
      depth++;
      i++;
    } else if (text[i] === '}' && --depth === 0) {
      return i;
    }
  }
  return -1;
}

function expand(inner: string, whole: string, lookup: Lookup, warn: (message: string) => void): string {
  const match = /^([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])([\s\S]*))?$/.exec(inner);
  if (!match) throw new InterpolationError(`invalid interpolation format for ${JSON.stringify(whole)}: "\${${inner}}"`);
  const [, name, operator, argument = ''] = match as unknown as [string, string, string | undefined, string | undefined];
  const value = lookup(name);
  const rest = () => interpolate(argument, lookup, warn);
  switch (operator) {
    case undefined:
      return valueOf(name, lookup, warn);
    case ':-':
      return value ? value : rest();
    case '-':
      return value ?? rest();
    case ':?':
      if (!value) throw new InterpolationError(`required variable ${name} is missing a value: ${rest()}`);
      return value;
    case '?':
      if (value === undefined) throw new InterpolationError(`required variable ${name} is missing a value: ${rest()}`);
      return value;
    case ':+':
      return value ? rest() : '';
    default: // '+'
      return value !== undefined ? rest() : '';
  }
}

function valueOf(name: string, lookup: Lookup, warn: (message: string) => void): string {
  const value = lookup(name);
  if (value === undefined) warn(`The "${name}" variable is not set. Defaulting to a blank string.`);
  return value ?? '';
}

/**
 * A .env or env_file: KEY=VALUE lines, `export` allowed, # comments, 'literal' and "escaped"
 * values; unquoted and double-quoted values see earlier keys and `lookup` as variables.
 */
export function parseEnvFile(text: string, lookup: Lookup = () => undefined, source = 'env file'): Record<string, string> {
  const result: Record<string, string> = {};
  const scoped: Lookup = (name) => lookup(name) ?? result[name];
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const body = line.replace(/^export\s+/, '');
    const eq = body.indexOf('=');
    const key = (eq === -1 ? body : body.slice(0, eq)).trim();
    if (!/^[A-Za-z_][A-Za-z0-9_.-]*$/.test(key))
      throw new InterpolationError(`${source} line ${index + 1}: unexpected character in variable name ${JSON.stringify(key)}`);
    if (eq === -1) return;
    const rawValue = body.slice(eq + 1).trim();
    result[key] = envValue(rawValue, scoped, `${source} line ${index + 1}`);
  });
  return result;
}

function envValue(raw: string, lookup: Lookup, where: string): string {
  if (raw.startsWith("'")) {
    const end = raw.indexOf("'", 1);
    if (end === -1) throw new InterpolationError(`${where}: unterminated quoted value`);
    return raw.slice(1, end);
  }
  if (raw.startsWith('"')) {
    let value = '';
    for (let i = 1; i < raw.length; i++) {
      const char = raw[i]!;
      if (char === '"') return interpolate(value, lookup);
      if (char === '\\' && i + 1 < raw.length) {
        const escaped = raw[++i]!;
        value += escaped === 'n' ? '\n' : escaped === 't' ? '\t' : escaped === '$' ? '$$' : escaped;
      } else {
        value += char;
      }
    }
    throw new InterpolationError(`${where}: unterminated quoted value`);
  }
  // An unquoted value ends at a comment that follows whitespace.
  return interpolate(raw.replace(/\s+#.*$/, ''), lookup);
}
