// A query's outcome as the analysis judges take it: the values by series, or the named error in
// words (an error is counted toward consecutiveErrorLimit, it is never a verdict by itself).
import type { Observation } from '../../rollouts/analysis/measurement';
import { queryPrometheus, type QueryOptions } from './client';
import { PrometheusError } from './errors';

export async function observe(address: string, query: string, options: QueryOptions): Promise<Observation> {
  try {
    const result = await queryPrometheus(address, query, options);
    return { values: result.samples.map((s) => s.value) };
  } catch (err) {
    if (err instanceof PrometheusError) return { error: `${err.name}: ${err.message}` };
    throw err;
  }
}
