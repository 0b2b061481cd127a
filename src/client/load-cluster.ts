// A Kubernetes environment spec read for `opsflow provision`: the spec checked, then every
// manifest file it names read (inside the spec's folder, size-limited), parsed and checked, so a
// bad object is refused on the client, naming its file and document, before a cluster is made.
import path from 'node:path';
import { ManifestProblem, parseManifestsYaml, type Manifest } from '../integrations/kubernetes/manifests';
import type { ProvisionClusterInput } from '../workflows/kubernetes/provision-cluster';
import { SpecError } from '../specs/common';
import { parseClusterEnvironmentSpec } from '../specs/cluster-environment';
import { MAX_SPEC_BYTES, parseYamlFile, readLimitedText, resolveInside, type LoadOptions } from '../specs/load';

export function loadClusterEnvironment(file: string, options: LoadOptions = {}): ProvisionClusterInput {
  const spec = parseYamlFile(file, 'environment', parseClusterEnvironmentSpec);
  const root = options.root ?? path.dirname(path.resolve(file));
  const manifests: Manifest[] = spec.kubernetes.manifests.flatMap((reference, i) => {
    const field = `kubernetes.manifests[${i}]`;
    const real = resolveInside(file, reference, root, field);
    const text = readLimitedText(real, MAX_SPEC_BYTES, `${field}: ${reference}`, 'environment');
    try {
      return parseManifestsYaml(text, reference);
    } catch (err) {
      if (err instanceof ManifestProblem) throw new SpecError('environment', [`${field}: ${err.message}`]);
      throw err;
    }
  });
  return {
    environment: spec.name,
    cluster: { name: spec.name, region: spec.region, version: spec.kubernetes.version, nodePools: spec.kubernetes.nodePools },
    manifests,
    ...(spec.kubernetes.secrets?.length ? { secrets: spec.kubernetes.secrets } : {}),
  };
}
