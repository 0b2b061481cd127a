// How opsflow names a Kubernetes object: enough to find it (apiVersion and kind for the API path,
// namespace and name) and to say which one in an error or a Web UI summary. Pure: safe in workflows.

export interface ObjectRef {
  apiVersion: string;
  kind: string;
  /** Absent for cluster-scoped kinds; a namespaced kind without one lands in `default`. */
  namespace?: string;
  name: string;
}

/** "Deployment shop/web", "Namespace shop": as kubectl names objects, kind first. */
export function describeRef(ref: Pick<ObjectRef, 'kind' | 'namespace' | 'name'>): string {
  return `${ref.kind} ${ref.namespace ? `${ref.namespace}/` : ''}${ref.name}`;
}
