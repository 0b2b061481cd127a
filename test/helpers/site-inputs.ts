// The two-site fields a failover's and a failback's input share, for the tests that check those
// inputs without a server: fra1 and london, each with its Cloudflare pool and database (secrets as
// references only).
export const siteDatabase = (name: string, port: number) => ({ name, host: '127.0.0.1', port, user: 'opsflow', password: 'env:DB' });

export const twoSites = {
  environment: 'stack-e',
  cloudflare: { apiToken: 'env:CF' },
  loadBalancer: { zoneId: 'z1', accountId: 'a1', loadBalancerId: 'lb1', hostname: 'www.stack-e.com', pools: { fra1: 'p1', london: 'p2' } },
  databases: { fra1: siteDatabase('fra1-db', 3306), london: siteDatabase('london-db', 3307) },
  replication: { user: 'repl', password: 'env:REPL' },
  verify: { url: 'http://127.0.0.1:8080' },
};
