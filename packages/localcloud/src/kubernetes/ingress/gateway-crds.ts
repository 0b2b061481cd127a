// The Gateway API kinds the cluster's ingress serves (gateway.networking.k8s.io/v1 GatewayClass,
// Gateway, HTTPRoute), installed as CRDs when the cluster's plane starts, with the classes a DOKS
// user's manifests name: GatewayClass `nginx` (NGINX Gateway Fabric's default) and IngressClass
// `nginx` (ingress-nginx's, the default class). The schemas check the fields the ingress reads,
// with Gateway API's own limits (weights 0-1000000, ports 1-65535, at most 16 rules and backends),
// and keep the rest of each object as written.

const GROUP = 'gateway.networking.k8s.io';
export const GATEWAY_CONTROLLER = 'opsflow.dev/localcloud-nginx';

type Schema = Record<string, unknown>;
const str: Schema = { type: 'string' };
const open = (properties: Record<string, Schema>, required: string[] = []): Schema => ({
  type: 'object',
  'x-kubernetes-preserve-unknown-fields': true,
  properties,
  ...(required.length ? { required } : {}),
});
const port: Schema = { type: 'integer', minimum: 1, maximum: 65535 };
const parentRef = open({ name: str, namespace: str, kind: str, group: str, sectionName: str }, ['name']);
const backendRef = open(
  { name: str, namespace: str, kind: str, group: str, port, weight: { type: 'integer', minimum: 0, maximum: 1_000_000 } },
  ['name'],
);
const pathMatch = open({ type: { type: 'string', enum: ['Exact', 'PathPrefix', 'RegularExpression'] }, value: str });

function crd(kind: string, plural: string, scope: 'Namespaced' | 'Cluster', spec: Schema): Record<string, unknown> {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    // *.k8s.io groups are protected: the API server wants the approval Gateway API's own CRDs carry.
    metadata: {
      name: `${plural}.${GROUP}`,
      annotations: { 'api-approved.kubernetes.io': 'https://github.com/kubernetes-sigs/gateway-api/pull/3328' },
    },
    spec: {
      group: GROUP,
      scope,
      names: { kind, plural, singular: kind.toLowerCase(), listKind: `${kind}List` },
      versions: [
        {
          name: 'v1',
          served: true,
          storage: true,
          subresources: { status: {} },
          schema: {
            openAPIV3Schema: {
              type: 'object',
              required: ['spec'],
              properties: { apiVersion: str, kind: str, metadata: { type: 'object' }, spec, status: open({}) },
            },
          },
        },
      ],
    },
  };
}

export const GATEWAY_API_CRDS = [
  crd('GatewayClass', 'gatewayclasses', 'Cluster', open({ controllerName: str, description: str }, ['controllerName'])),
  crd(
    'Gateway',
    'gateways',
    'Namespaced',
    open(
      {
        gatewayClassName: str,
        listeners: {
          type: 'array',
          maxItems: 64,
          items: open({ name: str, hostname: str, port, protocol: str }, ['name', 'port', 'protocol']),
        },
      },
      ['gatewayClassName', 'listeners'],
    ),
  ),
  crd(
    'HTTPRoute',
    'httproutes',
    'Namespaced',
    open({
      parentRefs: { type: 'array', maxItems: 32, items: parentRef },
      hostnames: { type: 'array', maxItems: 16, items: str },
      rules: {
        type: 'array',
        maxItems: 16,
        items: open({
          matches: { type: 'array', maxItems: 64, items: open({ path: pathMatch }) },
          backendRefs: { type: 'array', maxItems: 16, items: backendRef },
        }),
      },
    }),
  ),
];

export const INGRESS_CLASSES = [
  {
    apiVersion: `${GROUP}/v1`,
    kind: 'GatewayClass',
    metadata: { name: 'nginx' },
    spec: { controllerName: GATEWAY_CONTROLLER, description: "The local cloud's nginx ingress" },
  },
  {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'IngressClass',
    metadata: { name: 'nginx', annotations: { 'ingressclass.kubernetes.io/is-default-class': 'true' } },
    spec: { controller: 'k8s.io/ingress-nginx' },
  },
];
