// client-node's KubernetesObjectApi resolves any apiVersion/kind to its URL (by API discovery) and
// sends with the kubeconfig's TLS and token. What it lacks: its create/patch serialize a body through
// the typed models, which silently drop fields the model does not know, so a manifest's typo would
// never reach the API server's validation. `send` here keeps client-node's transport and sends the
// body verbatim, answering plain JSON.
import { HttpMethod, KubernetesObjectApi, type KubeConfig, type KubernetesObject, type ResponseContext } from '@kubernetes/client-node';
import { KubernetesRequestError, parseStatus } from './errors';
import type { ObjectRef } from './refs';

/** The marker by which processResponse knows a call of `send`. */
const RAW_JSON = 'opsflow/raw-json';

export interface SendOptions {
  body?: unknown;
  /** Default application/json; server-side apply sends application/apply-patch+yaml (JSON is YAML). */
  contentType?: string;
  query?: Record<string, string | number | boolean | undefined>;
}

export { HttpMethod };

export class RawObjectApi extends KubernetesObjectApi {
  static fromConfig(config: KubeConfig): RawObjectApi {
    const api = config.makeApiClient(RawObjectApi);
    api.setDefaultNamespace(config);
    return api;
  }

  /** The object's URL path (a namespaced kind without namespace: the kubeconfig's, else `default`). */
  async pathOf(ref: ObjectRef, subresource?: string): Promise<string> {
    const path = await this.specUriPath(this.specOf(ref), 'read');
    return subresource ? `${path}/${subresource}` : path;
  }

  /** The URL path of a kind's collection, in `namespace` when the kind is namespaced. */
  collectionPath(apiVersion: string, kind: string, namespace?: string): Promise<string> {
    return this.specUriPath({ apiVersion, kind, metadata: namespace ? { namespace } : {} }, 'list');
  }

  /** One request; a 2xx answer's JSON (an empty body is `{}`), otherwise a KubernetesRequestError. */
  async send<T>(method: HttpMethod, path: string, options: SendOptions = {}): Promise<T> {
    const request = this.configuration.baseServer.makeRequestContext(path, method);
    request.setHeaderParam('Accept', 'application/json');
    for (const [name, value] of Object.entries(options.query ?? {})) if (value !== undefined) request.setQueryParam(name, String(value));
    if (options.body !== undefined) {
      request.setHeaderParam('Content-Type', options.contentType ?? 'application/json');
      request.setBody(JSON.stringify(options.body));
    }
    try {
      return (await this.requestPromise(request, RAW_JSON)) as unknown as T;
    } catch (err) {
      if (err instanceof KubernetesRequestError) throw err;
      // No answer (refused, reset, TLS): status 0, retryable. The message names the address, never the token.
      throw new KubernetesRequestError(0, { message: err instanceof Error ? err.message : String(err) });
    }
  }

  protected override async processResponse<T extends KubernetesObject>(response: ResponseContext, type?: string): Promise<T> {
    if (type !== RAW_JSON) return super.processResponse<T>(response, type);
    const text = await response.body.text();
    if (response.httpStatusCode >= 200 && response.httpStatusCode <= 299) return (text ? JSON.parse(text) : {}) as T;
    throw new KubernetesRequestError(response.httpStatusCode, parseStatus(response.httpStatusCode, text));
  }

  private specOf(ref: ObjectRef): KubernetesObject {
    return {
      apiVersion: ref.apiVersion,
      kind: ref.kind,
      metadata: { name: ref.name, ...(ref.namespace ? { namespace: ref.namespace } : {}) },
    };
  }
}
