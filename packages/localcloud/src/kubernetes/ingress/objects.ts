// The few fields of Kubernetes objects the cluster's ingress reads: Gateway API (Gateway,
// HTTPRoute), networking.k8s.io Ingress, Services and EndpointSlices. Everything else of them is
// ignored here, so these are partial shapes, not the full API types.

export interface ObjectMeta {
  name: string;
  namespace?: string;
  creationTimestamp?: string;
  generation?: number;
  resourceVersion?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export interface Listed<T> {
  items: T[];
}

export interface Service {
  metadata: ObjectMeta;
  spec?: { ports?: { name?: string; port: number }[] };
}

export interface EndpointSlice {
  metadata: ObjectMeta;
  ports?: { name?: string | null; port?: number }[] | null;
  endpoints?: { addresses: string[]; conditions?: { ready?: boolean | null } }[] | null;
}

export interface Gateway {
  metadata: ObjectMeta;
  spec: { gatewayClassName: string; listeners?: { name: string; port: number; protocol: string }[] };
  status?: unknown;
}

export interface BackendRef {
  name: string;
  namespace?: string;
  kind?: string;
  port?: number;
  weight?: number;
}

export interface HttpRoute {
  metadata: ObjectMeta;
  spec: {
    parentRefs?: { name: string; namespace?: string; kind?: string }[];
    hostnames?: string[];
    rules?: { matches?: { path?: { type?: string; value?: string } }[]; backendRefs?: BackendRef[] }[];
  };
}

export interface IngressBackend {
  service?: { name: string; port?: { number?: number; name?: string } };
}

export interface Ingress {
  metadata: ObjectMeta;
  spec?: {
    ingressClassName?: string;
    defaultBackend?: IngressBackend;
    rules?: { host?: string; http?: { paths: { path?: string; pathType?: string; backend: IngressBackend }[] } }[];
  };
  status?: unknown;
}

/** Everything the ingress routes by, read from the API server in one pass. */
export interface ClusterTraffic {
  gateways: Gateway[];
  httpRoutes: HttpRoute[];
  ingresses: Ingress[];
  services: Service[];
  endpointSlices: EndpointSlice[];
}
