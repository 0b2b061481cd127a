// A template's PromQL with its `{{args.NAME}}` placeholders filled in (Argo's syntax). A value is
// pasted into a query, so it may hold only characters that cannot end a PromQL string or matcher:
// a version tag or a host name, never a quote, brace or newline.
const PLACEHOLDER = /\{\{\s*args\.([A-Za-z][A-Za-z0-9_-]*)\s*\}\}/g;
const SAFE_VALUE = /^[A-Za-z0-9_.:-]{1,128}$/;

/** The names of the args a query uses. */
export function queryArgs(query: string): string[] {
  return [...new Set([...query.matchAll(PLACEHOLDER)].map((m) => m[1]!))];
}

export function renderQuery(query: string, args: Readonly<Record<string, string>>): string {
  const missing = queryArgs(query).filter((name) => args[name] === undefined);
  if (missing.length) throw new Error(`the query needs ${missing.map((n) => `args.${n}`).join(', ')}, which no one gave`);
  for (const [name, value] of Object.entries(args)) {
    if (!SAFE_VALUE.test(value))
      throw new Error(
        `args.${name} = ${JSON.stringify(value.slice(0, 60))} may hold only letters, digits, ".", "_", ":" and "-" (it is pasted into PromQL)`,
      );
  }
  return query.replace(PLACEHOLDER, (_, name: string) => args[name]!);
}
