// A real Prometheus (Debian's `prometheus` package) for tests, as the local stack starts it
// (src/devstack/prometheus.ts): a temp folder, a free 127.0.0.1 port, scraping the given targets
// every second, unprivileged. The test owns the process and stops it.
import { startPrometheus as startStackPrometheus, writeScrapeTargets } from '../../../src/devstack/prometheus';
import { tempDir } from '../../helpers/temp';

export interface PrometheusInstance {
  address: string;
  /** Replaces the scrape targets (host:port each); Prometheus picks the file up by itself. */
  setTargets(targets: string[]): void;
  stop(): Promise<void>;
}

export async function startPrometheus(targets: string[]): Promise<PrometheusInstance> {
  const running = await startStackPrometheus({
    dir: tempDir('prometheus'),
    scrapeInterval: '1s',
    targets: targets.map((address) => ({ address })),
  });
  return {
    address: running.address,
    setTargets: (next) =>
      writeScrapeTargets(
        running.targetsFile,
        next.map((address) => ({ address })),
      ),
    stop: running.stop,
  };
}
