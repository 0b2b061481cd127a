// The analysis a plain deploy may run after its health gate (`opsflow deploy --analysis <file>`):
// where Prometheus answers, the analysis templates inline (the rollout spec's own template schema,
// so a template written for a rollout works here), and the args they take. Every template runs; a
// failing one rolls the release back. A plain deploy replaces the whole fleet at once, so there is
// no stable version running beside the new one: no comparison metrics, no `stable-version`.
import { z } from 'zod';
import { queryArgs } from '../rollouts/analysis/query-args';
import { parseSpec, specJsonSchema } from './common';
import { whenAnObject } from './messages';
import { BUILT_IN_ARGS, rolloutShape } from './rollout';

/** The args a deploy gives every template: the environment and the version being deployed. */
export const DEPLOY_BUILT_IN_ARGS = ['canary-version', 'environment'] as const;

const templates = rolloutShape.shape.analysisTemplates;
/** An analysis reference's args as a rollout spec checks them (values are pasted into PromQL). */
const templateArgs = rolloutShape.shape.blueGreen.unwrap().shape.prePromotionAnalysis.unwrap().shape.args;

export const deployAnalysisShape = z.strictObject({
  prometheus: rolloutShape.shape.prometheus.unwrap(),
  /** Values for the templates' args (a template's own default is used when not given here). */
  args: templateArgs,
  /** The templates to run, by name, as a rollout spec's analysisTemplates. */
  templates,
});

/** Built-in args of a rollout that a deploy cannot give. */
const ROLLOUT_ONLY_ARGS: readonly string[] = BUILT_IN_ARGS.filter((a) => !(DEPLOY_BUILT_IN_ARGS as readonly string[]).includes(a));

type TemplateInput = { args?: { name?: unknown; value?: unknown }[]; metrics?: Record<string, unknown>[] };

export const deployAnalysisSchema = deployAnalysisShape.superRefine(
  (analysis, ctx) => {
    const issue = (path: (string | number)[], message: string) => ctx.addIssue({ code: 'custom', path, message });
    const byName = (analysis.templates && typeof analysis.templates === 'object' ? analysis.templates : {}) as Record<
      string,
      TemplateInput
    >;
    if (Object.keys(byName).length === 0) issue(['templates'], 'names no template to run');
    const given = (analysis.args && typeof analysis.args === 'object' ? analysis.args : {}) as Record<string, unknown>;
    const declared = new Set<unknown>();
    const metricTemplate = new Map<string, string>();
    for (const [name, template] of Object.entries(byName)) {
      const args = Array.isArray(template?.args) ? template.args : [];
      for (const arg of args) {
        declared.add(arg?.name);
        if (arg?.value === undefined && typeof arg?.name === 'string' && !(arg.name in given))
          issue(['args'], `must give ${arg.name}, which template ${name} needs`);
      }
      (Array.isArray(template?.metrics) ? template.metrics : []).forEach((metric, i) => {
        const at = ['templates', name, 'metrics', i];
        if (metric?.compare !== undefined)
          issue([...at, 'compare'], 'a deploy replaces every host at once, so there is no stable version to compare with: use a query');
        if (typeof metric?.interval === 'string' && metric.count === undefined)
          issue(
            [...at, 'count'],
            'is required with an interval: a deploy waits for its analysis to end (background analysis is for rollouts)',
          );
        const other = typeof metric?.name === 'string' ? metricTemplate.get(metric.name) : undefined;
        if (other !== undefined && other !== name)
          issue(
            [...at, 'name'],
            `metric ${String(metric.name)} is also in template ${other}: the templates a deploy runs need distinct metric names`,
          );
        if (typeof metric?.name === 'string') metricTemplate.set(metric.name, name);
        if (typeof metric?.query === 'string')
          for (const arg of queryArgs(metric.query).filter((a) => ROLLOUT_ONLY_ARGS.includes(a)))
            issue([...at, 'query'], `uses {{args.${arg}}}, which a deploy cannot give: no other version runs beside the new one`);
      });
    }
    for (const arg of Object.keys(given)) {
      if ((BUILT_IN_ARGS as readonly string[]).includes(arg)) issue(['args', arg], 'is built in: the deploy sets it');
      else if (!declared.has(arg)) issue(['args', arg], `is not an arg of ${Object.keys(byName).join(', ') || 'any template'}`);
    }
  },
  { when: whenAnObject },
);

export type DeployAnalysisInput = z.input<typeof deployAnalysisSchema>;
export type DeployAnalysis = z.output<typeof deployAnalysisSchema>;

/** Whether any query asks for the deployed version (works on unchecked input too: the schema's own refinement uses it). */
export function usesDeployedVersion(analysis: unknown): boolean {
  const byName = (analysis as { templates?: unknown } | undefined)?.templates;
  if (!byName || typeof byName !== 'object') return false;
  return Object.values(byName as Record<string, TemplateInput>).some((t) =>
    (Array.isArray(t?.metrics) ? t.metrics : []).some((m) => typeof m?.query === 'string' && queryArgs(m.query).includes('canary-version')),
  );
}

export function parseDeployAnalysis(input: unknown): DeployAnalysis {
  return parseSpec('deploy analysis', deployAnalysisSchema, input);
}

export function deployAnalysisJsonSchema(): unknown {
  return specJsonSchema(deployAnalysisShape);
}
