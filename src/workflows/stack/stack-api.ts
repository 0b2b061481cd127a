// What provisionStack answers: each site's environments and hosts, the replication it wired, the
// load balancer, and the part of a failoverSite (or failbackSite) input the stack decides, so a
// failover of the new stack needs only from, to and how to verify. No secret: references only.
import type { DatabaseFirewalls } from '../../specs/failover';
import type { DatabaseServer } from '../../integrations/mysql/connection';
import type { RedisServer } from '../../integrations/redis/replication';
import type { LoadBalancerRef } from '../../integrations/cloudflare/load-balancing';
import type { AppDatabaseVariables, AppServers } from '../shared/point-apps';

export interface StackHost {
  instance: string;
  address: string;
}

export interface StackSite {
  app: { environment: string; hosts: StackHost[] };
  data: { environment: string; hosts: StackHost[] };
  mysql: { primary: DatabaseServer; replica: DatabaseServer };
  redis?: { primary: RedisServer; replica: RedisServer };
}

export interface ProvisionStackResult {
  stack: string;
  primarySite: string;
  sites: Record<string, StackSite>;
  /** Who follows whom ("MySQL london-db-1 <- fra1-db-1"), MySQL and Redis. */
  replication: string[];
  loadBalancer: LoadBalancerRef;
  /** Checked before the run ended: each replica had the primary's check row, each Redis replica its link up, both pools healthy. */
  verified: { mysqlCaughtUp: string[]; redisLinked: string[]; poolsHealthy: string[]; trafficBySite?: Record<string, number> };
  /** failoverSite's input as far as the stack decides it (add from, to and verify). */
  failover: {
    environment: string;
    cloudflare: { apiUrl?: string; apiToken: string };
    loadBalancer: LoadBalancerRef;
    databases: Record<string, DatabaseServer>;
    redis?: Record<string, RedisServer>;
    replication: { user: string; password: string };
    /** Each site's app servers and the variables that name their databases (with `appVariables`). */
    apps?: { variables: AppDatabaseVariables; sites: Record<string, AppServers> };
    /** Each site's database firewall as the stack wrote it and its app servers' addresses (with `databaseAccess`). */
    databaseFirewalls?: DatabaseFirewalls;
  };
}
