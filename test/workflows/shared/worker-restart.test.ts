// Durability: a worker killed with SIGKILL while a workflow sleeps between two activities, then
// started again, lets the workflow finish, with each activity run exactly once.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { startTemporal, uniqueTaskQueue, workflowBundlePath } from '../../helpers/temporal';
import { tempDir } from '../../helpers/temp';

let env: TestWorkflowEnvironment;
beforeAll(async () => {
  env = await startTemporal();
});
afterAll(async () => {
  await env?.teardown();
});

function startWorkerProcess(taskQueue: string, journal: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(__dirname, '../../fixtures/worker-process.ts')], {
    env: {
      ...process.env,
      TEMPORAL_ADDRESS: env.address,
      OPSFLOW_TASK_QUEUE: taskQueue,
      OPSFLOW_WORKFLOW_BUNDLE: workflowBundlePath(),
      OPSFLOW_JOURNAL: journal,
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    child.stdout?.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('ready')) resolve(child);
    });
    child.once('exit', (code) => reject(new Error(`worker process exited early with code ${code}`)));
  });
}

function journalLines(journal: string): string[] {
  return existsSync(journal) ? readFileSync(journal, 'utf8').trim().split('\n').filter(Boolean) : [];
}

test('SIGKILL during a durable sleep, then a new worker: the workflow finishes', async () => {
  const taskQueue = uniqueTaskQueue('restart');
  const journal = path.join(tempDir('journal'), 'journal.log');
  const first = await startWorkerProcess(taskQueue, journal);
  const handle = await env.client.workflow.start('stepSleepStep', { taskQueue, workflowId: taskQueue, args: [3000] });

  // Kill only once the server has recorded the first activity's completion and the timer.
  for (let i = 0; ; i++) {
    const history = await handle.fetchHistory();
    if (history.events?.some((e) => e.timerStartedEventAttributes)) break;
    if (i > 200) throw new Error('the workflow never reached its sleep');
    await new Promise((r) => setTimeout(r, 100));
  }
  const exited = new Promise((resolve) => first.once('exit', (_code, signal) => resolve(signal)));
  first.kill('SIGKILL');
  expect(await exited).toBe('SIGKILL');

  const second = await startWorkerProcess(taskQueue, journal);
  try {
    expect(await handle.result()).toBe('finished');
  } finally {
    second.kill('SIGTERM');
  }
  const lines = journalLines(journal);
  expect(lines).toEqual([`before sleep (pid ${first.pid})`, `after sleep (pid ${second.pid})`]);
});
