// Output shapes of the docker command line: durations ("Up 5 seconds"), aligned tables, and the
// subset of Go templates that scripts pass to --format ({{.Field}}, {{.A.B}}, {{json .X}},
// {{index .Labels "key"}}, `\t` and `\n`).

export function humanDuration(ms: number): string {
  const seconds = Math.max(0, Math.round(ms / 1000));
  if (seconds < 1) return 'Less than a second';
  if (seconds < 60) return seconds === 1 ? '1 second' : `${seconds} seconds`;
  const minutes = Math.round(seconds / 60);
  if (minutes === 1) return 'About a minute';
  if (minutes < 60) return `${minutes} minutes`;
  const hours = Math.round(minutes / 60);
  if (hours === 1) return 'About an hour';
  if (hours < 48) return `${hours} hours`;
  const days = Math.round(hours / 24);
  if (days < 14) return `${days} days`;
  return `${Math.round(days / 7)} weeks`;
}

/** Columns separated by at least three spaces, as docker prints them. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((title, index) => Math.max(title.length, ...rows.map((row) => (row[index] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((cell, index) => (index === cells.length - 1 ? cell : cell.padEnd(widths[index]! + 3)))
      .join('')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n') + '\n';
}

export class TemplateError extends Error {}

/** Renders a Go-template-like format for one object. */
export function renderTemplate(format: string, data: unknown): string {
  const text = format.replace(/\\t/g, '\t').replace(/\\n/g, '\n');
  return text.replace(/\{\{-?\s*(.*?)\s*-?\}\}/g, (_whole, expression: string) => {
    const words = splitExpression(expression);
    const [first, ...rest] = words;
    if (first === undefined) throw new TemplateError(`template: empty action in ${format}`);
    if (first === 'json') return JSON.stringify(evaluate(rest[0] ?? '.', data)) ?? 'null';
    if (first === 'index') {
      let value = evaluate(rest[0] ?? '.', data);
      for (const key of rest.slice(1)) value = (value as Record<string, unknown> | undefined)?.[unquote(key)];
      return show(value);
    }
    if (first === 'lower' || first === 'upper') {
      const value = show(evaluate(rest[0] ?? '.', data));
      return first === 'lower' ? value.toLowerCase() : value.toUpperCase();
    }
    if (first === 'join') return (evaluate(rest[0] ?? '.', data) as unknown[] | undefined)?.map(show).join(unquote(rest[1] ?? '" "')) ?? '';
    if (!first.startsWith('.')) throw new TemplateError(`template: function "${first}" not defined`);
    return show(evaluate(first, data));
  });
}

function splitExpression(expression: string): string[] {
  return expression.match(/"(?:[^"\\]|\\.)*"|\S+/g) ?? [];
}

function unquote(word: string): string {
  return word.startsWith('"') ? (JSON.parse(word) as string) : word;
}

function evaluate(path: string, data: unknown): unknown {
  if (path === '.') return data;
  if (!path.startsWith('.')) return unquote(path);
  let value: unknown = data;
  for (const key of path.slice(1).split('.')) {
    if (value === null || typeof value !== 'object') {
      throw new TemplateError(`template: executing "" at <${path}>: can't evaluate field ${key}`);
    }
    if (!(key in value)) throw new TemplateError(`template: executing "" at <${path}>: map has no entry for key "${key}"`);
    value = (value as Record<string, unknown>)[key];
  }
  return value;
}

/** Go's default printing: maps as map[k:v], lists as [a b], nothing as <no value>. */
function show(value: unknown): string {
  if (value === undefined) return '<no value>';
  if (value === null) return '<nil>';
  if (Array.isArray(value)) return `[${value.map(show).join(' ')}]`;
  if (typeof value === 'object') {
    return `map[${Object.entries(value)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([k, v]) => `${k}:${show(v)}`)
      .join(' ')}]`;
  }
  return String(value);
}
