// Validates DigitalOcean API traffic against the provider's published OpenAPI spec
// (../shared/contracts/digitalocean-openapi.core.json, every $ref resolved in place).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import Ajv, { type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';

type Schema = Record<string, unknown>;
interface Operation {
  responses: Record<string, { headers?: Record<string, { schema?: Schema }>; content?: Record<string, { schema?: Schema }> }>;
  requestBody?: { content?: Record<string, { schema?: Schema }> };
}

const SPEC_PATH = path.join(__dirname, '..', '..', '..', 'shared', 'contracts', 'digitalocean-openapi.core.json');
const spec = JSON.parse(readFileSync(SPEC_PATH, 'utf8')) as { paths: Record<string, Record<string, Operation>> };
// The spec's patterns are written for non-unicode regular expressions (e.g. `\:` escapes).
const ajv = new Ajv({ strict: false, allErrors: true, unicodeRegExp: false });
addFormats(ajv);
const compiled = new Map<Schema, ValidateFunction>();

const templates = Object.keys(spec.paths).map((template) => ({
  template,
  pattern: new RegExp('^' + template.replace(/\{[^}]+\}/g, '[^/]+') + '$'),
  // Literal segments first: /v2/volumes/actions must not match /v2/volumes/{volume_id}.
  literal: template.split('/').filter((s) => !s.startsWith('{')).length,
}));

export function findTemplate(urlPath: string): string | undefined {
  const matches = templates.filter((t) => t.pattern.test(urlPath)).sort((a, b) => b.literal - a.literal);
  return matches[0]?.template;
}

function validator(schema: Schema): ValidateFunction {
  let fn = compiled.get(schema);
  if (!fn) {
    fn = ajv.compile(schema);
    compiled.set(schema, fn);
  }
  return fn;
}

function check(schema: Schema | undefined, value: unknown, where: string): string[] {
  if (!schema) return [];
  const validate = validator(schema);
  if (validate(value)) return [];
  // A oneOf whose alternatives overlap (the spec's droplet-action bodies do) is not the sender's fault.
  const errors = (validate.errors ?? []).filter((e) => !(e.keyword === 'oneOf' && Array.isArray(e.params.passingSchemas)));
  if (errors.length === 0) return [];
  return errors.slice(0, 5).map((e) => `${where}: ${e.instancePath || '/'} ${e.message}${e.params ? ' ' + JSON.stringify(e.params) : ''}`);
}

/** Violations of the spec by one response; an undocumented operation or status is a violation. */
export function responseViolations(method: string, urlPath: string, status: number, body: unknown): string[] {
  const template = findTemplate(urlPath);
  const operation = template ? spec.paths[template]?.[method.toLowerCase()] : undefined;
  if (!template || !operation) return [`${method} ${urlPath}: not an operation in the spec`];
  const response = operation.responses[String(status)] ?? operation.responses.default;
  if (!response) return [`${method} ${template} ${status}: status not documented`];
  const where = `${method} ${template} ${status}`;
  if (status === 204) return body === undefined || body === '' ? [] : [`${where}: a 204 must have no body`];
  return check(response.content?.['application/json']?.schema, body, where);
}

/**
 * Headers the spec documents for this response that do not match their schema, or are missing when
 * they are the `ratelimit-*` ones (documented on every status, 401 included, and always sent by
 * DigitalOcean; the spec marks no header required, and calls others optional). HTTP headers are
 * strings: an integer header must be written as one.
 */
export function responseHeaderViolations(method: string, urlPath: string, status: number, headers: Headers): string[] {
  const template = findTemplate(urlPath);
  const operation = template ? spec.paths[template]?.[method.toLowerCase()] : undefined;
  const documented = (operation?.responses[String(status)] ?? operation?.responses.default)?.headers ?? {};
  return Object.entries(documented).flatMap(([name, { schema }]) => {
    const where = `${method} ${template} ${status} header ${name}`;
    const value = headers.get(name);
    if (value === null) return name.startsWith('ratelimit-') ? [`${where}: missing`] : [];
    const typed = schema?.type === 'integer' || schema?.type === 'number' ? (/^-?\d+(\.\d+)?$/.test(value) ? Number(value) : value) : value;
    return check(schema, typed, where);
  });
}

/** Violations of the spec by one request body. */
export function requestViolations(method: string, urlPath: string, body: unknown): string[] {
  const template = findTemplate(urlPath);
  const operation = template ? spec.paths[template]?.[method.toLowerCase()] : undefined;
  if (!operation?.requestBody || body === undefined) return [];
  return check(operation.requestBody.content?.['application/json']?.schema, body, `${method} ${template} request`);
}

export function operationKey(method: string, urlPath: string): string {
  return `${method.toUpperCase()} ${findTemplate(urlPath) ?? urlPath}`;
}
