// What of a live object a backup keeps: what someone wrote, not what the cluster made or filled in
// for it. Stripped: status, the identity and bookkeeping in metadata, a Service's allocated
// addresses and node ports, a claim's bound volume; skipped whole: objects a controller owns (Pods
// of a ReplicaSet, ReplicaSets of a Deployment, EndpointSlices of a Service), Endpoints the
// endpoints controller keeps for a Service with a selector, service-account token Secrets, the
// kube-root-ca.crt ConfigMap every namespace gets, Events and Leases. Velero strips the same
// when it restores. Pure: the restore and the tests judge objects with the same rules.

export type KubeJson = Record<string, unknown> & { apiVersion?: string; kind?: string; metadata?: Record<string, unknown> };

const METADATA_DROPPED = [
  'uid',
  'resourceVersion',
  'generation',
  'creationTimestamp',
  'managedFields',
  'ownerReferences',
  'selfLink',
  'deletionTimestamp',
  'deletionGracePeriodSeconds',
  'generateName',
];

const ANNOTATIONS_DROPPED = [
  'kubectl.kubernetes.io/last-applied-configuration',
  'deployment.kubernetes.io/revision',
  'pv.kubernetes.io/bind-completed',
  'pv.kubernetes.io/bound-by-controller',
  'volume.beta.kubernetes.io/storage-provisioner',
  'volume.kubernetes.io/storage-provisioner',
];

/** Resources never backed up: the cluster's own running record, remade by its controllers. */
export const SKIPPED_RESOURCES = new Set(['events', 'events.events.k8s.io', 'leases.coordination.k8s.io']);

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const clone = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;

/** Why the cluster made this object itself (so it is not backed up), or undefined when someone wrote it. */
export function generatedBecause(object: KubeJson, servicesWithSelector: ReadonlySet<string>): string | undefined {
  const metadata = object.metadata ?? {};
  const owners = Array.isArray(metadata.ownerReferences) ? (metadata.ownerReferences as { controller?: boolean; kind?: string }[]) : [];
  const controller = owners.find((o) => o.controller);
  if (controller) return `owned by its ${controller.kind ?? 'controller'}`;
  if (object.kind === 'Endpoints' && servicesWithSelector.has(String(metadata.name))) return 'kept by the endpoints controller';
  if (object.kind === 'Secret' && object.type === 'kubernetes.io/service-account-token') return 'a service-account token';
  if (object.kind === 'ConfigMap' && metadata.name === 'kube-root-ca.crt') return 'published in every namespace';
  return undefined;
}

/** The object as a backup keeps it (a copy; the input is not changed). */
export function cleanObject(object: KubeJson): KubeJson {
  const copy = clone(object);
  delete copy.status;
  const metadata = isRecord(copy.metadata) ? copy.metadata : {};
  for (const field of METADATA_DROPPED) delete metadata[field];
  if (isRecord(metadata.annotations)) {
    for (const a of ANNOTATIONS_DROPPED) delete metadata.annotations[a];
    if (Object.keys(metadata.annotations).length === 0) delete metadata.annotations;
  }
  const spec = isRecord(copy.spec) ? copy.spec : undefined;
  if (copy.kind === 'Service' && spec) {
    delete spec.clusterIP;
    delete spec.clusterIPs;
    delete spec.healthCheckNodePort;
    if (Array.isArray(spec.ports)) for (const port of spec.ports as Record<string, unknown>[]) delete port.nodePort;
  }
  if (copy.kind === 'PersistentVolumeClaim' && spec) delete spec.volumeName;
  // The API server sets it to the namespace's own name: a restore under another name gets its own.
  if (copy.kind === 'Namespace' && isRecord(metadata.labels)) {
    delete metadata.labels['kubernetes.io/metadata.name'];
    if (Object.keys(metadata.labels).length === 0) delete metadata.labels;
  }
  return copy;
}

/**
 * The object moved to namespace `to`: its own namespace, and every `namespace` field inside its
 * spec or subjects that named `from` (an HTTPRoute's parentRefs and backendRefs, a RoleBinding's
 * subjects), so references inside the backup stay inside the restored namespace.
 */
export function remapNamespace(object: KubeJson, from: string, to: string): KubeJson {
  const copy = clone(object);
  if (copy.kind === 'Namespace') (copy.metadata as Record<string, unknown>).name = to;
  else (copy.metadata as Record<string, unknown>).namespace = to;
  const visit = (value: unknown): void => {
    if (Array.isArray(value)) value.forEach(visit);
    else if (isRecord(value))
      for (const [k, v] of Object.entries(value)) {
        if (k === 'namespace' && v === from) value[k] = to;
        else visit(v);
      }
  };
  for (const field of ['spec', 'subjects']) visit(copy[field]);
  return copy;
}
