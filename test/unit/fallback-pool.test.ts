// Where the edge falls back (Cloudflare's fallback_pool) for a split: the pool with the largest
// weight, the first of the load balancer's default pools on a tie, none when no pool has weight.
// After a failover's 0/100 it is the survivor's; back at 50/50 it is the first site's, where a
// load balancer starts.
import { fallbackPoolFor, poolWeights } from '../../src/integrations/cloudflare/split';

const pools = { fra1: 'pool-fra1', london: 'pool-london' };
const order = ['pool-fra1', 'pool-london'];
const fallbackAt = (split: Record<string, number>) => fallbackPoolFor(poolWeights(split, pools), order);

test('the fallback is the pool with the largest share, the first default pool on a tie', () => {
  expect(fallbackAt({ fra1: 0, london: 100 })).toBe('pool-london');
  expect(fallbackAt({ fra1: 100, london: 0 })).toBe('pool-fra1');
  expect(fallbackAt({ fra1: 50, london: 50 })).toBe('pool-fra1');
  expect(fallbackAt({ fra1: 10, london: 90 })).toBe('pool-london');
  expect(fallbackAt({ fra1: 75, london: 25 })).toBe('pool-fra1');
  // The load balancer's own order decides a tie, not the order the split names its sites in.
  expect(fallbackPoolFor(poolWeights({ london: 50, fra1: 50 }, pools), ['pool-london', 'pool-fra1'])).toBe('pool-london');
  expect(fallbackPoolFor({}, order)).toBeUndefined();
  expect(fallbackPoolFor({ 'pool-fra1': 0, 'pool-london': 0 }, order)).toBeUndefined();
});
