// Issue 14, item 6: the analysis a plain deploy may run. A rollout's templates are accepted as they
// are; what a deploy cannot do (compare with a stable version that no longer runs, measure without
// end, ask for the stable version, or for "the" version of images with different tags) is refused
// at its field; every template's args must be given, and only theirs.
import { SpecError } from '../../src/specs/common';
import { parseDeployAnalysis } from '../../src/specs/deploy-analysis';
import { DeployInputError, parseDeployReleaseInput } from '../../src/specs/deploy-release';

const errorsTemplate = () => ({
  args: [{ name: 'service' }],
  metrics: [
    {
      name: 'error-ratio',
      query: 'sum(rate(x{job="{{args.service}}",version="{{args.canary-version}}",code=~"5.."}[1m])) / sum(rate(x[1m]))',
      successCondition: 'result < 0.05',
      interval: '10s',
      count: 3,
    },
  ],
});
const minimal = () => ({
  prometheus: { address: 'http://127.0.0.1:9090' },
  args: { service: 'auth' },
  templates: { errors: errorsTemplate() },
});

function problems(input: unknown): string[] {
  try {
    parseDeployAnalysis(input);
  } catch (err) {
    if (err instanceof SpecError) return err.problems;
    throw err;
  }
  throw new Error('the analysis was accepted');
}

test('a rollout template is accepted as it is, with the rollout defaults', () => {
  expect(parseDeployAnalysis(minimal()).templates.errors!.metrics[0]).toMatchObject({
    failureLimit: 0,
    inconclusiveLimit: 0,
    noData: 'inconclusive',
    initialDelay: '0s',
  });
});

test('each thing a deploy cannot do is refused at its field', () => {
  const base = minimal();
  const metric = base.templates.errors.metrics[0]!;
  expect(
    problems({
      ...base,
      args: { other: 'x', 'canary-version': '1.0.0' },
      templates: {
        errors: {
          ...base.templates.errors,
          metrics: [
            { ...metric, count: undefined },
            { name: 'stable', query: 'sum(y{version="{{args.stable-version}}"})', successCondition: 'result < 1' },
            { name: 'versus', compare: { canary: 'a', stable: 'b', margin: { relative: 0.1 } } },
          ],
        },
        more: { metrics: [{ name: 'error-ratio', query: 'sum(z)', failureCondition: 'result > 1' }] },
      },
    }),
  ).toEqual([
    'args: must give service, which template errors needs',
    'templates.errors.metrics.0.count: is required with an interval: a deploy waits for its analysis to end (background analysis is for rollouts)',
    'templates.errors.metrics.1.query: uses {{args.stable-version}}, which a deploy cannot give: no other version runs beside the new one',
    'templates.errors.metrics.2.compare: a deploy replaces every host at once, so there is no stable version to compare with: use a query',
    'templates.more.metrics.0.name: metric error-ratio is also in template errors: the templates a deploy runs need distinct metric names',
    'args.other: is not an arg of errors, more',
    'args.canary-version: is built in: the deploy sets it',
  ]);
  expect(problems({ ...base, templates: {} })).toEqual([
    'templates: names no template to run',
    'args.service: is not an arg of any template',
  ]);
  expect(problems({ ...base, prometheus: { address: 'prometheus:9090' } })).toEqual([
    'prometheus.address: must be an http(s) URL such as http://10.10.0.5:9090',
  ]);
  expect(problems({ ...base, args: { service: 'auth"} or vector(1) #' } })).toEqual([
    expect.stringMatching(/^args.service: may hold only letters, digits/),
  ]);
});

test('in a deploy input: a query asking for the deployed version needs one tag across the images', () => {
  const input = {
    environment: 'stack-a',
    hosts: [{ instance: 'app', address: '127.0.0.1', hostKey: `SHA256:${'A'.repeat(43)}` }],
    ssh: { user: 'root', port: 22, key: 'deploy' },
    directory: '/opt/app',
    images: { auth: 'ghcr.io/acme/auth:2.0.2', fleet: 'ghcr.io/acme/fleet:2.0.2@sha256:' + 'a'.repeat(64) },
    healthChecks: [],
    analysis: minimal(),
  };
  expect(parseDeployReleaseInput(input).analysis!.templates.errors!.metrics).toHaveLength(1);
  expect(() => parseDeployReleaseInput({ ...input, images: { ...input.images, fleet: 'ghcr.io/acme/fleet:1.1.0' } })).toThrow(
    new DeployInputError([
      'analysis: a query uses {{args.canary-version}}, but the images have different tags (2.0.2, 1.1.0): deploy them one version at a time',
    ]),
  );
});
