// The application writing through a failover, failback or drill: a row into shop.orders per round
// (and an entry onto Redis's `orders` list, when asked), each to whichever server takes it: a
// fenced or read-only one refuses, and the writer turns to the other site. Only what a server
// acknowledged is counted, so rows acknowledged against rows present afterwards is the RPO.
import type { FailoverStage } from './failover-stage';
import { appWrite, type MariadbServer } from './mariadb-servers';
import type { RedisProcess } from './redis-servers';

export function startSiteWriter(stage: FailoverStage, options: { redis?: boolean } = {}) {
  const state = { stop: false, rows: 0, entries: 0, refused: 0 };
  let db: MariadbServer = stage.fra;
  let cache: RedisProcess | undefined = options.redis ? stage.redis!.fra : undefined;
  const other = <T>(a: T, x: T, y: T) => (a === x ? y : x);
  const done = (async () => {
    for (let i = 0; !state.stop; i++) {
      try {
        await appWrite(db, `during ${i}`);
        state.rows++;
      } catch {
        state.refused++;
        db = other(db, stage.fra, stage.lon);
      }
      if (cache) {
        try {
          await cache.command('RPUSH', 'orders', String(i));
          state.entries++;
        } catch {
          state.refused++;
          cache = other(cache, stage.redis!.fra, stage.redis!.lon);
        }
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  return {
    state,
    stop: async () => {
      state.stop = true;
      await done;
    },
  };
}
