// The rollout spec: how a new version replaces the old on a fleet (canary steps or blue-green),
// where its traffic is weighted (nginx upstream weights, or load balancer membership), and which
// Prometheus analyses decide whether it goes on. Argo Rollouts' fields and semantics, with the
// differences the README's "Rollout spec" lists. Pure (no I/O), so the workflow checks it again.
import { z } from 'zod';
import { parseCondition } from '../rollouts/analysis/condition';
import { queryArgs } from '../rollouts/analysis/query-args';
import { absolutePath, dnsLabel, parseSpec, secretRef, specJsonSchema } from './common';
import { whenAnObject } from './messages';

const DURATION = /^(\d{1,9})(ms|s|m|h)$/;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** `30s` as milliseconds (the spec has checked the form). */
export function durationMs(text: string): number {
  const match = DURATION.exec(text);
  if (!match) throw new Error(`${JSON.stringify(text)} is not a duration such as 30s, 5m or 1h`);
  return Number(match[1]) * UNIT_MS[match[2]!]!;
}

/** The args the rollout itself gives every analysis, so a query can tell the versions apart. */
export const BUILT_IN_ARGS = ['canary-version', 'stable-version', 'environment'] as const;

const duration = z.string().regex(DURATION, 'must be a duration such as 30s, 5m or 1h');
const name = z.string().regex(/^[a-z][a-z0-9-]{0,62}$/, 'must be lowercase letters, digits and dashes, starting with a letter');
const argName = z.string().regex(/^[A-Za-z][A-Za-z0-9_-]{0,62}$/, 'must be letters, digits, "_" and "-", starting with a letter');
const argValue = z
  .string()
  .regex(/^[A-Za-z0-9_.:-]{1,128}$/, 'may hold only letters, digits, ".", "_", ":" and "-" (it is pasted into PromQL)');
const promql = z.string().min(1).max(4000);

/** A condition such as `result < 0.05`, checked by the same parser that judges measurements. */
const condition = z.string().superRefine((text, ctx) => {
  try {
    parseCondition(text);
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: (err as Error).message });
  }
});

/** How many hosts: a number, or a percentage of the fleet such as `25%`. */
const HOST_COUNT = 'must be a whole number of hosts (0-1000) or a percentage such as 25%';
const hostCount = z.union(
  [z.number().int(HOST_COUNT).min(0, HOST_COUNT).max(1000, HOST_COUNT), z.string().regex(/^(100|[1-9]?\d)%$/, HOST_COUNT)],
  { error: HOST_COUNT },
);

const margin = z
  .strictObject({
    /** The canary may be worse than stable by this fraction of stable's value (0.1: 10%). */
    relative: z.number().min(0).max(100).optional(),
    /** The canary may be worse than stable by this amount, in the metric's unit. */
    absolute: z.number().min(0).optional(),
  })
  .refine((m) => (m.relative === undefined) !== (m.absolute === undefined), {
    message: 'give exactly one of relative or absolute',
    when: whenAnObject,
  });

const comparison = z.strictObject({
  /** PromQL for the canary hosts, one series (use {{args.canary-version}}). */
  canary: promql,
  /** The same measure for the stable hosts at the same moment. */
  stable: promql,
  /** Whether lower values are better (error ratio, latency) or higher ones. */
  better: z.enum(['lower', 'higher']).default('lower'),
  margin,
});

const metric = z
  .strictObject({
    name,
    /** PromQL sent to /api/v1/query; `result` in a condition is its value (result[i]: its i-th series). */
    query: promql.optional(),
    /** Instead of query and conditions: the canary against stable on the same metric (Kayenta). */
    compare: comparison.optional(),
    /** Time between measurements; without it the metric is measured once. */
    interval: duration.optional(),
    /** Measurements to take (default 1 without interval; with interval and no count: until the step ends, for background analysis). */
    count: z.number().int().min(1).max(10_000).optional(),
    /** Wait before the first measurement, so the canary has traffic to measure. */
    initialDelay: duration.default('0s'),
    successCondition: condition.optional(),
    failureCondition: condition.optional(),
    /** Failed measurements tolerated; one more fails the metric. */
    failureLimit: z.number().int().min(0).max(10_000).default(0),
    /** Inconclusive measurements tolerated; one more pauses the rollout for a human. */
    inconclusiveLimit: z.number().int().min(0).max(10_000).default(0),
    /** Query errors in a row tolerated; one more ends the analysis as an error (the rollout aborts). */
    consecutiveErrorLimit: z.number().int().min(0).max(10_000).default(4),
    /** A result with no series or NaN (no traffic): inconclusive (pause for a human) or fail. Never a pass. */
    noData: z.enum(['inconclusive', 'fail']).default('inconclusive'),
    /** How long one query may take. */
    timeout: duration.default('10s'),
  })
  .superRefine(
    (m, ctx) => {
      const issue = (path: string[], message: string) => ctx.addIssue({ code: 'custom', path, message });
      if ((m.query === undefined) === (m.compare === undefined))
        issue(['query'], 'give exactly one of query (with conditions) or compare (canary against stable)');
      if (m.query !== undefined && m.successCondition === undefined && m.failureCondition === undefined)
        issue(['successCondition'], 'a query needs a successCondition or a failureCondition (or both)');
      if (m.compare !== undefined && (m.successCondition !== undefined || m.failureCondition !== undefined))
        issue(['compare'], 'a comparison is judged by its margin; remove successCondition and failureCondition');
      if (m.count !== undefined && m.count > 1 && m.interval === undefined)
        issue(['interval'], `is required when count is more than 1 (got count ${m.count})`);
    },
    { when: whenAnObject },
  );

const templateArg = z.strictObject({
  name: argName,
  /** Default value; without one, every reference must give it. */ value: argValue.optional(),
});

const analysisTemplate = z.strictObject({ args: z.array(templateArg).default([]), metrics: z.array(metric).min(1) }).superRefine(
  (t, ctx) => {
    if (!Array.isArray(t.metrics)) return;
    const declared = new Set([...BUILT_IN_ARGS, ...(Array.isArray(t.args) ? t.args.map((a) => a?.name) : [])]);
    const seen = new Set<string>();
    t.metrics.forEach((m, i) => {
      if (typeof m?.name === 'string') {
        if (seen.has(m.name)) ctx.addIssue({ code: 'custom', path: ['metrics', i, 'name'], message: `metric ${m.name} is named twice` });
        seen.add(m.name);
      }
      const queries = [m?.query, m?.compare?.canary, m?.compare?.stable].filter((q): q is string => typeof q === 'string');
      for (const arg of queries.flatMap(queryArgs)) {
        if (!declared.has(arg))
          ctx.addIssue({
            code: 'custom',
            path: ['metrics', i, m?.query !== undefined ? 'query' : 'compare'],
            message: `uses {{args.${arg}}}, which the template's args do not declare (built in: ${BUILT_IN_ARGS.join(', ')})`,
          });
      }
    });
  },
  { when: whenAnObject },
);

const analysisRef = z.strictObject({
  /** Templates from analysisTemplates, run together; the worst metric decides. */
  templates: z.array(name).min(1),
  args: z.record(argName, argValue).default({}),
});

const pause = z
  .strictObject({
    /** Wait this long, then go on; without it, wait until promoted. */
    duration: duration.optional(),
    /** A pause with no duration escalates after this long (a message to `notify`, if the spec has it)... */
    escalateAfter: duration.optional(),
    /** ...and then keeps waiting or aborts the rollout. */
    onEscalation: z.enum(['keep-waiting', 'abort']).default('keep-waiting'),
  })
  .refine((p) => !(p.duration !== undefined && p.escalateAfter !== undefined), {
    message: 'escalateAfter is for a pause that waits for a human; a pause with a duration ends by itself',
    path: ['escalateAfter'],
    when: whenAnObject,
  });

const canaryStep = z
  .strictObject({
    /** Percent of traffic to the canary. */
    setWeight: z.number().int().min(0).max(100).optional(),
    pause: pause.optional(),
    /** An analysis run inline: the step ends when it does, and the rollout aborts if it fails. */
    analysis: analysisRef.optional(),
  })
  .refine((s) => [s.setWeight, s.pause, s.analysis].filter((v) => v !== undefined).length === 1, {
    message: 'a step is exactly one of setWeight, pause or analysis',
    when: whenAnObject,
  });

const canary = z.strictObject({
  steps: z.array(canaryStep).min(1),
  /** Background analysis: runs from `startingStep` (0-based) until the rollout ends; a failure aborts at once. */
  analysis: analysisRef.extend({ startingStep: z.number().int().min(0).default(0) }).optional(),
  /**
   * Droplets created beside the fleet for the canary (a percentage of the fleet rounds up; at most
   * the fleet's size); they are destroyed at the end. 0: canary hosts are taken from the fleet.
   */
  maxSurge: hostCount.default('25%'),
  /** Fleet hosts that may be out of rotation at once while they change version (a percentage rounds down). */
  maxUnavailable: hostCount.default(0),
  /** How long a surge droplet stays, out of rotation, before it is destroyed: requests under way finish (Argo's scaleDownDelaySeconds). */
  scaleDownDelay: duration.default('30s'),
});

const blueGreen = z.strictObject({
  /**
   * The preview (green) fleet: fleet hosts out of rotation (`size` of them; default all, or half the
   * fleet when every host serves), or, with `create`, droplets made for the rollout beside the fleet
   * (as surge droplets are) and destroyed at its end, for a fleet that cannot spare a host.
   */
  previewFleet: z
    .strictObject({
      size: z.number().int().min(1).max(100).optional(),
      /** Preview droplets to create for the rollout (the fleet's droplet group's size, image and tags). */
      create: z
        .number()
        .int('must be a whole number of droplets, 1-20')
        .min(1, 'must be 1-20 droplets')
        .max(20, 'must be 1-20 droplets')
        .optional(),
      /** How long created preview droplets stay listed `down` once traffic left them, before they are destroyed: requests under way finish. */
      drain: duration.default('10s'),
    })
    .refine((p) => p.size === undefined || p.create === undefined, {
      message: 'give size (preview hosts taken from the fleet) or create (preview droplets made for the rollout), not both',
      path: ['create'],
      when: whenAnObject,
    })
    .default({ drain: '10s' }),
  /** Run on the preview fleet before the switch; a failure stops the rollout with traffic untouched. */
  prePromotionAnalysis: analysisRef.optional(),
  /** Run after the switch while the old fleet is kept; a failure switches back at once. */
  postPromotionAnalysis: analysisRef.optional(),
  /** Switch without a human once the preview is ready (and its analysis passed), after `after`. */
  autoPromotion: z.strictObject({ enabled: z.boolean().default(true), after: duration.optional() }).default({ enabled: true }),
  /** How long the old fleet stays warm after the switch, for an instant switch back. */
  scaleDownDelay: duration.default('30s'),
});

const traffic = z
  .strictObject({
    /** Weighted upstreams in nginx on the front host (stacks B, C): exact weights. */
    nginx: z
      .strictObject({
        upstream: name,
        configDir: absolutePath.default('/etc/nginx/opsflow'),
        /** The droplet (instance name) nginx runs on; the upstream file is written there over SSH. */
        frontHost: dnsLabel,
        /** nginx's pid file there, so a weight change returns only once the reload is live. */
        pidFile: absolutePath.default('/run/nginx.pid'),
      })
      .optional(),
    /**
     * A load balancer without weights (DigitalOcean's): weight by which fleet hosts are its members
     * (the canary's share is its share of the members; the status says the share really given).
     */
    loadBalancerMembership: z
      .strictObject({
        /** The load balancer, by id or by (unique) name; its droplets must be exactly the fleet's. */
        loadBalancer: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$/, 'must be a load balancer id or name'),
        /**
         * How long a host removed from the load balancer keeps its version before opsflow changes it:
         * DigitalOcean's load balancers do not drain, so this wait is the drain.
         */
        drain: duration.default('10s'),
      })
      .optional(),
  })
  .refine((t) => (t.nginx === undefined) !== (t.loadBalancerMembership === undefined), {
    message: 'give exactly one of nginx or loadBalancerMembership',
    when: whenAnObject,
  });

const prometheus = z.strictObject({
  /** Where the Prometheus HTTP API answers, such as http://10.10.0.5:9090. */
  address: z
    .string()
    .regex(/^https?:\/\/[A-Za-z0-9.[\]:-]+(\/[A-Za-z0-9._~/-]*)?$/, 'must be an http(s) URL such as http://10.10.0.5:9090'),
});

/** Which hosts run the application the rollout changes, and where nginx reaches each. */
const fleet = z.strictObject({
  /** The droplets (instance names) serving the application; default: every host given except nginx's front host. */
  instances: z.array(dnsLabel).min(1, 'needs at least one instance').optional(),
  /** The port each fleet host's application answers on (nginx's upstream servers are address:port). */
  port: z.number({ error: 'must be the port the application answers on, 1-65535' }).int().min(1).max(65535),
});

export const rolloutShape = z.strictObject({
  /** The environment whose fleet this rolls out on. */
  environment: dnsLabel,
  fleet,
  prometheus: prometheus.optional(),
  traffic,
  canary: canary.optional(),
  blueGreen: blueGreen.optional(),
  analysisTemplates: z.record(name, analysisTemplate).default({}),
  /**
   * Where an escalation is sent: a Slack-compatible incoming webhook (POST {"text"}). The URL is a
   * secret reference (env:NAME, file:/path) the worker resolves; it never enters workflow history.
   */
  notify: z.strictObject({ webhook: secretRef }).optional(),
});

export const rolloutSchema = rolloutShape.superRefine(
  (spec, ctx) => {
    const issue = (path: (string | number)[], message: string) => ctx.addIssue({ code: 'custom', path, message });
    const instances = Array.isArray(spec.fleet?.instances) ? spec.fleet.instances : [];
    instances.forEach((instance, i) => {
      if (instances.indexOf(instance) !== i) issue(['fleet', 'instances', i], `${instance} is listed twice`);
    });
    checkStrategyAndAnalyses(spec, issue);
  },
  { when: whenAnObject },
);

/** The parts of a rollout spec a droplet and a Kubernetes rollout share (what the strategy and analyses need). */
export type StrategyAndAnalyses = Pick<z.input<typeof rolloutShape>, 'canary' | 'blueGreen' | 'analysisTemplates' | 'prometheus'>;

/**
 * One strategy; every analysis reference names a defined template and gives the args it needs;
 * Prometheus when anything is analysed. Also the Kubernetes rollout spec's check (kubernetes-rollout.ts).
 */
export function checkStrategyAndAnalyses(spec: StrategyAndAnalyses, issue: (path: (string | number)[], message: string) => void): void {
  if ((spec.canary === undefined) === (spec.blueGreen === undefined)) issue(['canary'], 'give exactly one strategy: canary or blueGreen');
  const templates = spec.analysisTemplates && typeof spec.analysisTemplates === 'object' ? spec.analysisTemplates : {};
  const refs: { path: (string | number)[]; ref: { templates?: unknown; args?: unknown } }[] = [];
  const steps = Array.isArray(spec.canary?.steps) ? spec.canary.steps : [];
  steps.forEach((step, i) => step?.analysis && refs.push({ path: ['canary', 'steps', i, 'analysis'], ref: step.analysis }));
  if (spec.canary?.analysis) {
    refs.push({ path: ['canary', 'analysis'], ref: spec.canary.analysis });
    const start = spec.canary.analysis.startingStep;
    if (typeof start === 'number' && steps.length && start >= steps.length)
      issue(['canary', 'analysis', 'startingStep'], `is ${start}, but there are only ${steps.length} steps (0-based)`);
  }
  if (spec.blueGreen?.prePromotionAnalysis)
    refs.push({ path: ['blueGreen', 'prePromotionAnalysis'], ref: spec.blueGreen.prePromotionAnalysis });
  if (spec.blueGreen?.postPromotionAnalysis)
    refs.push({ path: ['blueGreen', 'postPromotionAnalysis'], ref: spec.blueGreen.postPromotionAnalysis });
  if (refs.length && !spec.prometheus) issue(['prometheus'], 'is required: the spec runs analyses, which query Prometheus');
  for (const { path, ref } of refs) {
    const given = ref.args && typeof ref.args === 'object' ? Object.keys(ref.args) : [];
    for (const [j, template] of (Array.isArray(ref.templates) ? ref.templates : []).entries()) {
      const found = (templates as Record<string, { args?: { name: string; value?: string }[] }>)[template];
      if (!found) {
        issue(
          [...path, 'templates', j],
          `names ${JSON.stringify(template)}, which analysisTemplates does not define${Object.keys(templates).length ? ` (defined: ${Object.keys(templates).join(', ')})` : ''}`,
        );
        continue;
      }
      const declared = Array.isArray(found.args) ? found.args : [];
      for (const arg of declared)
        if (arg?.value === undefined && !given.includes(arg?.name))
          issue([...path, 'args'], `must give ${arg?.name}, which template ${template} needs`);
    }
    for (const arg of given) {
      const known = (Array.isArray(ref.templates) ? ref.templates : []).some((t) =>
        (templates as Record<string, { args?: { name: string }[] }>)[t]?.args?.some((a) => a?.name === arg),
      );
      if (!known)
        issue([...path, 'args', arg], `is not an arg of ${Array.isArray(ref.templates) ? ref.templates.join(', ') : 'these templates'}`);
    }
  }
}

export type RolloutSpecInput = z.input<typeof rolloutSchema>;
export type RolloutSpec = z.output<typeof rolloutSchema>;
export type AnalysisTemplate = RolloutSpec['analysisTemplates'][string];
export type AnalysisMetric = AnalysisTemplate['metrics'][number];
export type CanaryStep = NonNullable<RolloutSpec['canary']>['steps'][number];
export type AnalysisRef = CanaryStep['analysis'] & {};

export function parseRolloutSpec(input: unknown): RolloutSpec {
  return parseSpec('rollout', rolloutSchema, input);
}

export function rolloutJsonSchema(): unknown {
  return specJsonSchema(rolloutShape);
}
