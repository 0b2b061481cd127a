// opsflow's client of one cluster's API server, made from a kubeconfig held in memory: server-side
// apply under field manager `opsflow`, reads, lists, patches, the scale subresource and idempotent
// deletes. Every failure is a KubernetesRequestError naming the object it was about.
import { ApiException, PatchStrategy } from '@kubernetes/client-node';
import { KubernetesRequestError, parseStatus } from './errors';
import { loadKubeconfig } from './kubeconfig';
import { refOf, type Manifest } from './manifests';
import { HttpMethod, RawObjectApi } from './object-api';
import type { ObjectRef } from './refs';

/** Who owns the fields opsflow applies (server-side apply's field manager). */
export const FIELD_MANAGER = 'opsflow';

/** An object as the API server returns it: the fields every object has, the rest untyped. */
export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: {
    name: string;
    namespace?: string;
    uid?: string;
    generation?: number;
    resourceVersion?: string;
    labels?: Record<string, string>;
    ownerReferences?: { kind: string; name: string; uid: string }[];
    [field: string]: unknown;
  };
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- each kind's body is read by its own module
  spec?: any;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  status?: any;
  [field: string]: unknown;
}

export interface KubeList<T = KubeObject> {
  items: T[];
  metadata?: { continue?: string };
}

export type PatchType = 'merge' | 'strategic' | 'json';
const PATCH_CONTENT_TYPE: Record<PatchType, string> = {
  merge: PatchStrategy.MergePatch,
  strategic: PatchStrategy.StrategicMergePatch,
  json: PatchStrategy.JsonPatch,
};

export interface ApplyOptions {
  /** Take fields another manager owns (server-side apply's `force`); off by default: a conflict fails. */
  force?: boolean;
  /** Validate and admit without persisting (dryRun=All). */
  dryRun?: boolean;
}

export interface ListOptions {
  labelSelector?: string;
  fieldSelector?: string;
}

export class KubernetesClient {
  constructor(private readonly api: RawObjectApi) {}

  /** `source` says where the kubeconfig came from, for errors (which never quote it). */
  static fromKubeconfig(text: string, source: string): KubernetesClient {
    return new KubernetesClient(RawObjectApi.fromConfig(loadKubeconfig(text, source)));
  }

  /** Server-side apply: the manifest as given, validated strictly (unknown fields are refused). */
  apply(manifest: Manifest, options: ApplyOptions = {}): Promise<KubeObject> {
    const ref = refOf(manifest);
    return this.about(ref, options.dryRun ? 'validate' : 'apply', async () =>
      this.api.send<KubeObject>(HttpMethod.PATCH, await this.api.pathOf(ref), {
        body: manifest,
        contentType: PatchStrategy.ServerSideApply,
        query: {
          fieldManager: FIELD_MANAGER,
          force: options.force ?? false,
          fieldValidation: 'Strict',
          dryRun: options.dryRun ? 'All' : undefined,
        },
      }),
    );
  }

  /** The object, or undefined when it does not exist. */
  async get(ref: ObjectRef): Promise<KubeObject | undefined> {
    try {
      return await this.about(ref, 'read', async () => this.api.send<KubeObject>(HttpMethod.GET, await this.api.pathOf(ref)));
    } catch (err) {
      if (err instanceof KubernetesRequestError && err.notFound) return undefined;
      throw err;
    }
  }

  list<T = KubeObject>(apiVersion: string, kind: string, namespace: string | undefined, options: ListOptions = {}): Promise<KubeList<T>> {
    const what = { apiVersion, kind, name: '*', ...(namespace ? { namespace } : {}) };
    return this.about(what, 'list', async () =>
      this.api.send<KubeList<T>>(HttpMethod.GET, await this.api.collectionPath(apiVersion, kind, namespace), {
        query: { labelSelector: options.labelSelector, fieldSelector: options.fieldSelector },
      }),
    );
  }

  /**
   * A GET of any API path (discovery: `/api/v1`, `/apis`, a collection with `continue`), for the
   * readers that walk every kind a cluster serves, such as a cluster backup.
   */
  read<T>(path: string, query: Record<string, string | number | undefined> = {}): Promise<T> {
    return this.about({ apiVersion: 'v1', kind: 'path', name: path }, 'read', () => this.api.send<T>(HttpMethod.GET, path, { query }));
  }

  patch(ref: ObjectRef, patch: unknown, type: PatchType): Promise<KubeObject> {
    return this.about(ref, 'patch', async () =>
      this.api.send<KubeObject>(HttpMethod.PATCH, await this.api.pathOf(ref), {
        body: patch,
        contentType: PATCH_CONTENT_TYPE[type],
        query: { fieldManager: FIELD_MANAGER, fieldValidation: 'Strict' },
      }),
    );
  }

  /** Sets spec.replicas through the scale subresource, as `kubectl scale` does. */
  scale(ref: ObjectRef, replicas: number): Promise<KubeObject> {
    return this.about(ref, 'scale', async () =>
      this.api.send<KubeObject>(HttpMethod.PATCH, await this.api.pathOf(ref, 'scale'), {
        body: { spec: { replicas } },
        contentType: PatchStrategy.MergePatch,
        query: { fieldManager: FIELD_MANAGER },
      }),
    );
  }

  /** Deletes the object (dependents in the background); one already gone is not an error. */
  async delete(ref: ObjectRef): Promise<'deleted' | 'already gone'> {
    try {
      await this.about(ref, 'delete', async () =>
        this.api.send(HttpMethod.DELETE, await this.api.pathOf(ref), { query: { propagationPolicy: 'Background' } }),
      );
      return 'deleted';
    } catch (err) {
      if (err instanceof KubernetesRequestError && err.notFound) return 'already gone';
      throw err;
    }
  }

  /** Runs a call, saying of any failure which object and what was being done. */
  private async about<T>(ref: ObjectRef, action: string, call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (err) {
      throw asRequestError(err).about(ref, action);
    }
  }
}

/** Whatever a call threw, as a KubernetesRequestError (discovery failures come as ApiException or Error). */
function asRequestError(err: unknown): KubernetesRequestError {
  if (err instanceof KubernetesRequestError) return err;
  if (err instanceof ApiException) {
    const body: unknown = err.body;
    const status = typeof body === 'string' ? parseStatus(err.code, body) : ((body ?? {}) as KubernetesRequestError['apiStatus']);
    return new KubernetesRequestError(err.code, status);
  }
  // "Unrecognized API version and kind": the cluster does not serve the kind (a typo, a missing CRD).
  const message = err instanceof Error ? err.message : String(err);
  return new KubernetesRequestError(/Unrecognized API version and kind/.test(message) ? 404 : 0, { message });
}
