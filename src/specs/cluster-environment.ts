// A Kubernetes environment (stack D): a DOKS cluster named after the environment, its node pools,
// and the manifest files applied to it, read by `opsflow provision` beside droplet environments.
// A spec with a `kubernetes:` section is one of these; the manifests are files next to the spec
// (each inside its folder), read and checked on the client before anything runs.
import { z } from 'zod';
import { dnsLabel, parseSpec, secretRef } from './common';
import { environmentName } from './environment-name';
import { whenAnObject } from './messages';

const poolName = z.string().regex(/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/, 'must be lowercase letters, digits and dashes');
const count = z.number().int().min(1).max(100);

const nodePool = z
  .object({
    name: poolName,
    size: z.string().min(1),
    count,
    autoScale: z.object({ minNodes: count, maxNodes: count }).strict().optional(),
  })
  .strict()
  .superRefine((pool, ctx) => {
    const scale = pool.autoScale;
    if (scale && !(scale.minNodes <= pool.count && pool.count <= scale.maxNodes))
      ctx.addIssue({
        code: 'custom',
        path: ['autoScale'],
        message: `count ${pool.count} must be within minNodes ${scale.minNodes} and maxNodes ${scale.maxNodes}`,
      });
  });

export const clusterEnvironmentSchema = z
  .object({
    name: environmentName,
    region: z.string().regex(/^[a-z]{3}\d$/, 'must be a DigitalOcean region slug such as fra1'),
    cloud: z.literal('digitalocean').optional(),
    kubernetes: z
      .object({
        /** A DOKS version slug, such as 1.34.3-do.0 (`doctl kubernetes options versions`). */
        version: z.string().min(1),
        nodePools: z.array(nodePool).min(1),
        /** YAML files of Kubernetes objects, applied in an order the API server accepts. */
        manifests: z.array(z.string().min(1)).min(1),
        /**
         * Secrets made on the worker from secret references (env:NAME, file:/path) before the
         * manifests, so their values never enter the workflow's history.
         */
        secrets: z
          .array(
            z
              .object({
                namespace: dnsLabel,
                name: dnsLabel,
                data: z.record(
                  z.string().regex(/^[-._a-zA-Z0-9]{1,253}$/, 'must be a Secret key (letters, digits, -, _ and .)'),
                  secretRef,
                ),
              })
              .strict(),
          )
          .optional(),
      })
      .strict(),
  })
  .strict()
  .superRefine(
    (spec, ctx) => {
      const seen = new Set<string>();
      const secrets = new Set<string>();
      spec.kubernetes.secrets?.forEach((secret, i) => {
        const key = `${secret.namespace}/${secret.name}`;
        if (secrets.has(key))
          ctx.addIssue({ code: 'custom', path: ['kubernetes', 'secrets', i, 'name'], message: `Secret ${key} is listed twice` });
        secrets.add(key);
      });
      spec.kubernetes.nodePools.forEach((pool, i) => {
        if (seen.has(pool.name))
          ctx.addIssue({ code: 'custom', path: ['kubernetes', 'nodePools', i, 'name'], message: `node pool ${pool.name} is named twice` });
        seen.add(pool.name);
      });
    },
    { when: whenAnObject },
  );

export type ClusterEnvironmentSpec = z.infer<typeof clusterEnvironmentSchema>;

/** True for a spec document that describes a Kubernetes environment rather than droplets. */
export function isClusterEnvironment(value: unknown): boolean {
  return typeof value === 'object' && value !== null && 'kubernetes' in value;
}

export function parseClusterEnvironmentSpec(input: unknown): ClusterEnvironmentSpec {
  return parseSpec('environment', clusterEnvironmentSchema, input);
}
