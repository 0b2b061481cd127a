// Determinism (rule 8): every recorded history in this folder replays against the current workflow
// code. Record new ones with `npx tsx scripts/record-replay-histories.ts`.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { DeterminismViolationError } from '@temporalio/workflow';
import { Worker } from '@temporalio/worker';
import { workflowBundlePath } from '../helpers/temporal';

const histories = readdirSync(__dirname).filter((f) => f.endsWith('.json'));

function load(file: string): { events: { workflowExecutionStartedEventAttributes?: { workflowType: { name: string } } }[] } {
  return JSON.parse(readFileSync(path.join(__dirname, file), 'utf8'));
}

test('there are recorded histories to replay', () => {
  expect(histories.length).toBeGreaterThanOrEqual(3);
});

test.each(histories)('%s replays against the current workflow code', async (file) => {
  // Recorded with the file's name as workflow id: workflows that derive child ids from it need the same.
  await expect(
    Worker.runReplayHistory({ workflowBundle: { codePath: workflowBundlePath() } }, load(file), file.replace(/\.json$/, '')),
  ).resolves.toBeUndefined();
});

test('replay does catch a history that the code would not produce', async () => {
  const history = load('saga-keep.json');
  const started = history.events[0]?.workflowExecutionStartedEventAttributes;
  if (!started) throw new Error('first event is not WorkflowExecutionStarted');
  started.workflowType.name = 'checkWorker';
  await expect(Worker.runReplayHistory({ workflowBundle: { codePath: workflowBundlePath() } }, history, 'tampered')).rejects.toBeInstanceOf(
    DeterminismViolationError,
  );
});
