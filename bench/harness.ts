// Shared bits of the benchmarks: timing a bounded load against loopback, and writing the results
// table (with the machine and the date) to bench/results/.
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface Row {
  measure: string;
  value: string;
  baseline?: string;
  ratio?: string;
  target?: string;
  verdict?: 'met' | 'missed' | 'info';
}

/** Sends `total` requests with `concurrency` in flight; returns requests per second. */
export async function requestsPerSecond(
  url: string,
  init: RequestInit,
  total: number,
  concurrency: number,
): Promise<{ rps: number; failures: number }> {
  let sent = 0;
  let failures = 0;
  const started = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (sent < total) {
        sent++;
        const response = await fetch(url, init);
        await response.arrayBuffer();
        if (!response.ok) failures++;
      }
    }),
  );
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  return { rps: total / seconds, failures };
}

/** The middle value (the lower of the two middle ones for an even count). */
export const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor((values.length - 1) / 2)]!;

/** `sections`: markdown lines after the notes (a second table, say). */
export function writeResults(name: string, title: string, rows: Row[], notes: string[] = [], sections: string[] = []): string {
  const dir = path.join(__dirname, 'results');
  mkdirSync(dir, { recursive: true });
  const header = '| measure | value | baseline (same run) | ratio | target | verdict |\n| --- | --- | --- | --- | --- | --- |';
  const lines = rows.map(
    (r) => `| ${r.measure} | ${r.value} | ${r.baseline ?? ''} | ${r.ratio ?? ''} | ${r.target ?? ''} | ${r.verdict ?? ''} |`,
  );
  const machine = `${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, ${os.platform()} ${os.release()}, Node ${process.version}`;
  const text = [
    `# ${title}`,
    '',
    `Date: ${new Date().toISOString()}  `,
    `Machine: ${machine}`,
    '',
    header,
    ...lines,
    '',
    ...notes.map((n) => `- ${n}`),
    '',
    ...sections,
  ].join('\n');
  const file = path.join(dir, `${name}.md`);
  writeFileSync(file, text);
  return file;
}
