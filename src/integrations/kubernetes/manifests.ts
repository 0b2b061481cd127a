// Manifests as opsflow applies them: each checked for what the API path needs (apiVersion, kind,
// metadata.name), refused when it would put secret values into workflow history, and put in an
// order the API server accepts in one pass (namespaces and definitions before what lives in them).
// Pure: workflows may check a spec's manifests before scheduling anything.
import { parseAllDocuments } from 'yaml';
import type { ObjectRef } from './refs';

export interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; [field: string]: unknown };
  [field: string]: unknown;
}

export class ManifestProblem extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ManifestProblem';
  }
}

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);
const nonEmptyString = (value: unknown): value is string => typeof value === 'string' && value.trim() !== '';

/** The manifest, typed, or a ManifestProblem naming which one (`what`) and which field is wrong. */
export function checkManifest(value: unknown, what: string): Manifest {
  if (!isRecord(value)) throw new ManifestProblem(`${what} is not an object`);
  if (!nonEmptyString(value.apiVersion)) throw new ManifestProblem(`${what}: apiVersion is missing`);
  if (!nonEmptyString(value.kind)) throw new ManifestProblem(`${what}: kind is missing`);
  const metadata = value.metadata;
  if (!isRecord(metadata) || !nonEmptyString(metadata.name)) throw new ManifestProblem(`${what} (${value.kind}): metadata.name is missing`);
  if (metadata.namespace !== undefined && !nonEmptyString(metadata.namespace))
    throw new ManifestProblem(`${what} (${value.kind} ${metadata.name}): metadata.namespace must be a non-empty string`);
  // A Secret's values in a workflow's input would be stored in its history for good.
  if (value.kind === 'Secret' && (value.data !== undefined || value.stringData !== undefined))
    throw new ManifestProblem(
      `${what} (Secret ${metadata.name}): a Secret's data would be stored in workflow history; create Secrets from secret references resolved on the worker instead`,
    );
  return value as Manifest;
}

export function refOf(manifest: Manifest): ObjectRef {
  const { apiVersion, kind, metadata } = manifest;
  return { apiVersion, kind, name: metadata.name, ...(metadata.namespace ? { namespace: metadata.namespace } : {}) };
}

/** Kinds others depend on, applied first in this order; everything else keeps its given order after them. */
const FIRST_KINDS = ['Namespace', 'CustomResourceDefinition', 'ServiceAccount', 'ConfigMap', 'PersistentVolumeClaim'];

export function inApplyOrder(manifests: readonly Manifest[]): Manifest[] {
  const rank = (m: Manifest) => {
    const index = FIRST_KINDS.indexOf(m.kind);
    return index === -1 ? FIRST_KINDS.length : index;
  };
  // Array.prototype.sort is stable: equal ranks keep the caller's order.
  return [...manifests].sort((a, b) => rank(a) - rank(b));
}

/** Every document of a multi-document YAML text, checked; empty documents are skipped. */
export function parseManifestsYaml(text: string, source = 'manifest'): Manifest[] {
  const manifests: Manifest[] = [];
  parseAllDocuments(text).forEach((doc, index) => {
    const what = `${source} document ${index + 1}`;
    if (doc.errors.length > 0) throw new ManifestProblem(`${what}: ${doc.errors[0]!.message}`);
    const value: unknown = doc.toJS();
    if (value !== null && value !== undefined) manifests.push(checkManifest(value, what));
  });
  return manifests;
}
