// NodeBalancers: create with configs and their nodes, list, get, delete, and read back configs and
// nodes. Each config really balances on the balancer's address (balancer.ts); a node's status is
// 'unknown' until a connection to it succeeds (UP) or is refused (DOWN).
import type {
  CreateNodeBalancerConfig,
  CreateNodeBalancerPayload,
  NodeBalancer,
  NodeBalancerConfig,
  NodeBalancerConfigNode,
} from '@linode/api-v4';
import { NodeBalancerSchema } from '@linode/validation';
import type { FastifyInstance } from 'fastify';
import type { CloudContext } from '../../../context';
import { regionUp } from '../../route-helpers';
import { hostAddressOf } from '../droplets';
import { LINODE_REGIONS } from './catalog';
import { linodeBadRequest, linodeNotFound } from './errors';
import { linodePage } from './pagination';
import type { NodeBalancerFrontends } from './balancer';
import type { LinodeNodeBalancerRecord } from './state';
import { idParam, linodeTimestamp, requestBody } from './wire';
import { validated } from './validate';

export function findNodeBalancer(ctx: CloudContext, id: number): LinodeNodeBalancerRecord {
  const record = ctx.store.state.linode.nodeBalancers.find((n) => n.nodeBalancer.id === id);
  if (!record) throw linodeNotFound();
  regionUp(ctx, record.nodeBalancer.region);
  return record;
}

type WireNode = { address?: unknown } & Record<string, unknown>;
type WireConfig = { nodes?: WireNode[] } & Record<string, unknown>;

/**
 * Linode's schema is the one its client checks before it joins each node's address and port into
 * "address:port" for the wire; the wire's nodes are split back apart to be checked by it.
 */
function asSchemaInput(body: Record<string, unknown>): Record<string, unknown> {
  if (!Array.isArray(body.configs)) return body;
  const configs = (body.configs as WireConfig[]).map((config) =>
    config && Array.isArray(config.nodes)
      ? {
          ...config,
          nodes: config.nodes.map((node) => {
            const match = typeof node?.address === 'string' ? /^(.*):(\d+)$/.exec(node.address) : null;
            return match ? { ...node, address: match[1], port: Number(match[2]) } : node;
          }),
        }
      : config,
  );
  return { ...body, configs };
}

function newConfig(ctx: CloudContext, nodeBalancerId: number, input: CreateNodeBalancerConfig): NodeBalancerConfig {
  const id = ctx.store.nextId();
  const protocol = input.protocol ?? 'http';
  const nodes: NodeBalancerConfigNode[] = (input.nodes ?? []).map((node) => ({
    id: ctx.store.nextId(),
    config_id: id,
    nodebalancer_id: nodeBalancerId,
    address: node.address,
    label: node.label,
    mode: node.mode ?? 'accept',
    weight: node.weight ?? 100,
    status: 'unknown',
  }));
  return {
    id,
    nodebalancer_id: nodeBalancerId,
    port: input.port ?? 80,
    protocol,
    algorithm: input.algorithm ?? 'roundrobin',
    stickiness: input.stickiness ?? (protocol === 'udp' ? 'session' : 'none'),
    check: input.check ?? 'none',
    check_attempts: input.check_attempts ?? 3,
    check_body: input.check_body ?? '',
    check_interval: input.check_interval ?? 5,
    check_passive: input.check_passive ?? true,
    check_path: input.check_path ?? '',
    check_timeout: input.check_timeout ?? 3,
    cipher_suite: protocol === 'udp' ? 'none' : (input.cipher_suite ?? 'recommended'),
    proxy_protocol: input.proxy_protocol ?? 'none',
    ssl_cert: '',
    ssl_commonname: '',
    ssl_fingerprint: '',
    ssl_key: '',
    nodes,
    nodes_status: { up: 0, down: 0 },
  };
}

async function createNodeBalancer(ctx: CloudContext, body: Record<string, unknown>): Promise<NodeBalancer> {
  const id = ctx.store.nextId();
  // The label is optional on the wire (Linode names the balancer) but required by the schema.
  const wire = { label: `balancer${id}`, ...body };
  await validated(NodeBalancerSchema, asSchemaInput(wire));
  const input = wire as CreateNodeBalancerPayload & { label: string };
  const region = input.region;
  if (!region || !LINODE_REGIONS.some((r) => r.id === region)) throw linodeBadRequest('region is not valid', 'region');
  regionUp(ctx, region);
  const state = ctx.store.state;
  const ipv4 = hostAddressOf(ctx, state.internal.nextHostAddress++);
  const created = linodeTimestamp();
  const nodeBalancer: NodeBalancer = {
    id,
    label: input.label,
    region,
    ipv4,
    ipv6: null,
    hostname: `nb-${ipv4.replaceAll('.', '-')}.${region}.nodebalancer.linode.com`,
    client_conn_throttle: input.client_conn_throttle ?? 0,
    client_udp_sess_throttle: input.client_udp_sess_throttle ?? 0,
    frontend_address_type: 'public',
    frontend_vpc_subnet_id: null,
    lke_cluster: null,
    tags: input.tags ?? [],
    transfer: { in: 0, out: 0, total: 0 },
    type: 'common',
    created,
    updated: created,
  };
  state.linode.nodeBalancers.push({ nodeBalancer, configs: (input.configs ?? []).map((c) => newConfig(ctx, id, c)) });
  ctx.store.changed();
  return nodeBalancer;
}

function configOf(record: LinodeNodeBalancerRecord, configId: number): NodeBalancerConfig {
  const config = record.configs.find((c) => c.id === configId);
  if (!config) throw linodeNotFound();
  return config;
}

export function registerLinodeNodeBalancerRoutes(app: FastifyInstance, ctx: CloudContext, frontends: NodeBalancerFrontends): void {
  app.get('/nodebalancers', async (request) =>
    linodePage(
      request,
      ctx.store.state.linode.nodeBalancers.map((n) => n.nodeBalancer),
    ),
  );

  app.post('/nodebalancers', async (request) => {
    const created = await createNodeBalancer(ctx, requestBody(request));
    frontends.sync();
    return created;
  });

  app.get('/nodebalancers/:nodeBalancerId', async (request) => findNodeBalancer(ctx, idParam(request, 'nodeBalancerId')).nodeBalancer);

  app.delete('/nodebalancers/:nodeBalancerId', async (request) => {
    const record = findNodeBalancer(ctx, idParam(request, 'nodeBalancerId'));
    const state = ctx.store.state.linode;
    state.nodeBalancers = state.nodeBalancers.filter((n) => n !== record);
    for (const fw of state.firewalls) {
      fw.devices = fw.devices.filter((d) => !(d.entity.type === 'nodebalancer' && d.entity.id === record.nodeBalancer.id));
      fw.firewall.entities = fw.devices.map((d) => d.entity);
    }
    frontends.sync();
    ctx.store.changed();
    return {};
  });

  app.get('/nodebalancers/:nodeBalancerId/configs', async (request) =>
    linodePage(request, findNodeBalancer(ctx, idParam(request, 'nodeBalancerId')).configs),
  );

  app.get('/nodebalancers/:nodeBalancerId/configs/:configId', async (request) =>
    configOf(findNodeBalancer(ctx, idParam(request, 'nodeBalancerId')), idParam(request, 'configId')),
  );

  app.get('/nodebalancers/:nodeBalancerId/configs/:configId/nodes', async (request) =>
    linodePage(request, configOf(findNodeBalancer(ctx, idParam(request, 'nodeBalancerId')), idParam(request, 'configId')).nodes),
  );
}
