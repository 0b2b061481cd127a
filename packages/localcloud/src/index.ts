// @opsflow/localcloud's one public entry. The product loads it only from the commands that start
// the local cloud (`opsflow up`, `opsflow localcloud ...`); tests and benches use the rest.
export { LocalCloud, type LocalCloudOptions } from './local-cloud';
export { DEFAULT_LOCALCLOUD_PORT, describeHostNetwork, localCloudCommand, type LocalCloudCommandOptions } from './cli';
export { readEndpoint, type LocalCloudEndpoint } from './endpoint';
export { resolveBwrap } from './hosts/sandbox';
export { dropletSshPort } from './hosts/ssh-port';
export { HostNetworkClaim, HostNetworkInUse, rememberedNetworkFile } from './hosts/isolation/network-claim';
export { resolveS3ServerBinary } from './spaces/resolve-binary';
export { SpacesServer } from './spaces/s3-server';
export { fingerprintOf, generateEd25519, sha256Fingerprint } from './hosts/host-key';
export { FAST_TIMING, REALISTIC_TIMING, type Timing } from './timing';
export type { FaultConfig } from './faults';
export type { LoggedRequest } from './request-log';
export { CLOUDFLARE_API_PREFIX } from './cloudflare/api';
export type { CloudflareRuntime } from './cloudflare/runtime';
export type { EdgeCounts } from './cloudflare/edge';
export type { BackendView, LoadBalancerTraffic } from './api/routes/load-balancer-traffic';
