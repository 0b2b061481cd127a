// The cluster backup policy (`kind: cluster`): which of a Kubernetes cluster's objects to export
// (namespaces, a label selector, kinds), to which Spaces bucket, kept how long, on which schedule.
// It lives in a backup policy file beside database policies (examples/backup-stack-d-cluster.yaml);
// destination, retention and schedule are the database policy's own fields. Pure: the client,
// the workflows and the activities share it.
import { z } from 'zod';
import { destination, retention, schedule } from './backup-policy';
import { dnsLabel, parseSpec, secretRef, specJsonSchema } from './common';
import { environmentName } from './environment-name';

/** One requirement of a label selector as kubectl takes it: `app=web`, `tier!=cache`, `track in (stable,canary)`, `!legacy`. */
const REQUIREMENT =
  /^\s*(!?[A-Za-z0-9./_-]+|[A-Za-z0-9./_-]+\s*(==?|!=)\s*[A-Za-z0-9._-]*|[A-Za-z0-9./_-]+\s+(in|notin)\s+\([A-Za-z0-9._, -]*\))\s*$/;

/** Splits on the commas between requirements, not those inside `in (a,b)`. */
export function labelSelectorProblem(selector: string): string | undefined {
  const parts = selector.split(/,(?![^(]*\))/);
  const bad = parts.find((p) => !REQUIREMENT.test(p));
  return bad === undefined
    ? undefined
    : `${JSON.stringify(bad.trim())} is not a label selector requirement (such as app=web, tier!=cache, track in (stable,canary))`;
}

const resources = z.strictObject({
  /** The namespaces exported, each with the Namespace object itself. */
  namespaces: z.array(dnsLabel).min(1),
  /** Only objects matching it, as `kubectl get -l` takes it. */
  labelSelector: z
    .string()
    .min(1)
    .superRefine((s, ctx) => {
      const problem = labelSelectorProblem(s);
      if (problem) ctx.addIssue({ code: 'custom', message: problem });
    })
    .optional(),
  /** Only these kinds (`ConfigMap`, `Secret`, `Deployment`); every kind the cluster serves when absent. */
  kinds: z
    .array(z.string().regex(/^[A-Z][A-Za-z0-9]*$/, 'must be a kind as in a manifest, such as ConfigMap or Deployment'))
    .min(1)
    .optional(),
});

const clusterBackupPolicyShape = z.strictObject({
  name: dnsLabel,
  /** Tells a cluster policy from a database policy in the same file. */
  kind: z.literal('cluster'),
  /** The environment the cluster belongs to: runs are listed under it. */
  environment: environmentName,
  /** The DOKS cluster, by name (unique in the account) or id. */
  cluster: z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'must be a cluster name or id'),
  resources,
  destination,
  retention,
  /**
   * Also snapshot, through the DigitalOcean API, the block storage volume behind each bound
   * PersistentVolumeClaim of the namespaces (CSI driver dobs.csi.digitalocean.com). Default false.
   */
  volumeSnapshots: z.boolean().default(false),
  /** Read the archive back after each run: every object the manifest lists there, encrypted ones decrypting. */
  verify: z.strictObject({ archive: z.boolean().default(true) }).default({ archive: true }),
  schedule,
  notify: z.strictObject({ webhook: secretRef }).optional(),
});

export type ClusterBackupPolicy = z.infer<typeof clusterBackupPolicyShape>;

export const clusterBackupPolicySchema = clusterBackupPolicyShape;

export function parseClusterBackupPolicy(input: unknown): ClusterBackupPolicy {
  return parseSpec('cluster backup policy', clusterBackupPolicySchema, input);
}

/** For editors: `opsflow schema cluster-backup-policy`. */
export function clusterBackupPolicyJsonSchema(): unknown {
  return specJsonSchema(clusterBackupPolicyShape);
}

/** A policy file item that is a cluster policy (its `kind: cluster`), before it is parsed. */
export const isClusterPolicyItem = (item: unknown) => (item as { kind?: unknown } | null)?.kind === 'cluster';
