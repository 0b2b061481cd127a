// Where the cluster's ingress sends each request, decided from the API objects alone (pure, so it
// is unit-tested without a cluster). Gateway API first: an HTTPRoute attached to a Gateway of the
// ingress's class splits a host and path between its backendRefs by weight. Ingress objects of the
// ingress class (or of none) route the host and paths no HTTPRoute claims, and a canary Ingress
// (`nginx.ingress.kubernetes.io/canary: "true"`) takes `canary-weight` of `canary-weight-total`
// (default 100) of the main Ingress's host and path, as ingress-nginx does. Each backend reaches
// the ready endpoints of its Service's port in the Service's EndpointSlices.
import type { BackendRef, ClusterTraffic, EndpointSlice, HttpRoute, Ingress, IngressBackend, Service } from './objects';

/** Gateway and Ingress class the local ingress serves (NGINX Gateway Fabric's and ingress-nginx's default name). */
export const INGRESS_CLASS = 'nginx';
const CANARY = 'nginx.ingress.kubernetes.io/canary';
const CANARY_WEIGHT = 'nginx.ingress.kubernetes.io/canary-weight';
const CANARY_WEIGHT_TOTAL = 'nginx.ingress.kubernetes.io/canary-weight-total';
const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';

export interface PlannedBackend {
  /** namespace/name:port of the Service. */
  service: string;
  weight: number;
  /** Ready endpoints as address:port. */
  endpoints: string[];
}

export interface PlannedRoute {
  /** A host name, or '*' for every host. */
  host: string;
  path: string;
  exact: boolean;
  /** The object that defines it, for the configuration's comments and the logs. */
  source: string;
  backends: PlannedBackend[];
}

type Key = string;
const keyOf = (host: string, path: string, exact: boolean): Key => `${host} ${exact ? '=' : ''}${path}`;

const byAge = <T extends { metadata: { creationTimestamp?: string; namespace?: string; name: string } }>(a: T, b: T) =>
  (a.metadata.creationTimestamp ?? '').localeCompare(b.metadata.creationTimestamp ?? '') ||
  `${a.metadata.namespace}/${a.metadata.name}`.localeCompare(`${b.metadata.namespace}/${b.metadata.name}`);

/** The routes of every HTTPRoute and Ingress, one per host and path; the oldest definition of a host and path wins. */
export function planTraffic(traffic: ClusterTraffic): PlannedRoute[] {
  const endpointsOf = endpointResolver(traffic.services, traffic.endpointSlices);
  const routes = new Map<Key, PlannedRoute>();
  const claim = (route: PlannedRoute) => {
    const key = keyOf(route.host, route.path, route.exact);
    if (!routes.has(key)) routes.set(key, route);
  };
  const ourGateways = new Set(
    traffic.gateways.filter((g) => g.spec.gatewayClassName === INGRESS_CLASS).map((g) => `${g.metadata.namespace}/${g.metadata.name}`),
  );
  for (const route of [...traffic.httpRoutes].sort(byAge)) {
    if (!attachedTo(route, ourGateways)) continue;
    for (const r of httpRouteRoutes(route, endpointsOf)) claim(r);
  }
  const ours = traffic.ingresses.filter((i) => (i.spec?.ingressClassName ?? INGRESS_CLASS) === INGRESS_CLASS).sort(byAge);
  const canaries = ours.filter((i) => i.metadata.annotations?.[CANARY] === 'true');
  for (const ingress of ours.filter((i) => !canaries.includes(i))) {
    for (const r of ingressRoutes(ingress, endpointsOf)) {
      if (routes.has(keyOf(r.host, r.path, r.exact))) continue;
      claim(withCanary(r, canaries, endpointsOf));
    }
  }
  return [...routes.values()];
}

function attachedTo(route: HttpRoute, gateways: Set<string>): boolean {
  const namespace = route.metadata.namespace ?? 'default';
  return (route.spec.parentRefs ?? []).some(
    (ref) => (ref.kind ?? 'Gateway') === 'Gateway' && gateways.has(`${ref.namespace ?? namespace}/${ref.name}`),
  );
}

type EndpointsOf = (namespace: string, service: string, port: number | string | undefined) => { service: string; endpoints: string[] };

function httpRouteRoutes(route: HttpRoute, endpointsOf: EndpointsOf): PlannedRoute[] {
  const namespace = route.metadata.namespace ?? 'default';
  const hosts = route.spec.hostnames?.length ? route.spec.hostnames : ['*'];
  const source = `HTTPRoute ${namespace}/${route.metadata.name}`;
  const out: PlannedRoute[] = [];
  for (const rule of route.spec.rules ?? []) {
    const backends = (rule.backendRefs ?? []).filter(isService).map((ref) => ({
      ...endpointsOf(ref.namespace ?? namespace, ref.name, ref.port),
      weight: ref.weight ?? 1,
    }));
    const matches = rule.matches?.length ? rule.matches : [{ path: { type: 'PathPrefix', value: '/' } }];
    for (const match of matches) {
      const path = match.path?.value ?? '/';
      const exact = match.path?.type === 'Exact';
      for (const host of hosts) out.push({ host, path, exact, source, backends });
    }
  }
  return out;
}

const isService = (ref: BackendRef) => (ref.kind ?? 'Service') === 'Service';

function ingressRoutes(ingress: Ingress, endpointsOf: EndpointsOf): PlannedRoute[] {
  const namespace = ingress.metadata.namespace ?? 'default';
  const source = `Ingress ${namespace}/${ingress.metadata.name}`;
  const backendOf = (backend: IngressBackend): PlannedBackend[] =>
    backend.service
      ? [{ ...endpointsOf(namespace, backend.service.name, backend.service.port?.number ?? backend.service.port?.name), weight: 1 }]
      : [];
  const out: PlannedRoute[] = [];
  for (const rule of ingress.spec?.rules ?? [])
    for (const p of rule.http?.paths ?? [])
      out.push({ host: rule.host ?? '*', path: p.path ?? '/', exact: p.pathType === 'Exact', source, backends: backendOf(p.backend) });
  if (ingress.spec?.defaultBackend)
    out.push({ host: '*', path: '/', exact: false, source, backends: backendOf(ingress.spec.defaultBackend) });
  return out;
}

/** A main Ingress's route with the first canary Ingress for the same host and path taking its weight. */
function withCanary(route: PlannedRoute, canaries: Ingress[], endpointsOf: EndpointsOf): PlannedRoute {
  for (const canary of canaries) {
    const match = ingressRoutes(canary, endpointsOf).find((r) => r.host === route.host && r.path === route.path && r.exact === route.exact);
    if (!match) continue;
    const total = parseWeight(canary.metadata.annotations?.[CANARY_WEIGHT_TOTAL], 100);
    const weight = Math.min(parseWeight(canary.metadata.annotations?.[CANARY_WEIGHT], 0), total);
    return {
      ...route,
      source: `${route.source} + canary ${match.source} (${weight}/${total})`,
      backends: [...route.backends.map((b) => ({ ...b, weight: total - weight })), ...match.backends.map((b) => ({ ...b, weight }))],
    };
  }
  return route;
}

function parseWeight(text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  return Number.isInteger(n) && n >= 0 ? n : fallback;
}

/** The ready address:port list of a Service's port, from the EndpointSlices labelled with the Service's name. */
function endpointResolver(services: Service[], slices: EndpointSlice[]): EndpointsOf {
  return (namespace, name, port) => {
    const label = `${namespace}/${name}:${port ?? ''}`;
    const service = services.find((s) => s.metadata.name === name && (s.metadata.namespace ?? 'default') === namespace);
    const servicePort = service?.spec?.ports?.find((p) =>
      typeof port === 'string' ? p.name === port : port === undefined || p.port === port,
    );
    if (!service || !servicePort) return { service: label, endpoints: [] };
    const endpoints = new Set<string>();
    for (const slice of slices) {
      if ((slice.metadata.namespace ?? 'default') !== namespace || slice.metadata.labels?.[SERVICE_NAME_LABEL] !== name) continue;
      const slicePort = slice.ports?.find((p) => (p.name ?? '') === (servicePort.name ?? ''));
      if (!slicePort?.port) continue;
      for (const endpoint of slice.endpoints ?? [])
        if (endpoint.conditions?.ready !== false) for (const address of endpoint.addresses) endpoints.add(`${address}:${slicePort.port}`);
    }
    return { service: `${namespace}/${name}:${servicePort.port}`, endpoints: [...endpoints].sort() };
  };
}
