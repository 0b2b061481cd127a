// deployRelease now ends with the saga's failure types (RolledBack, RollbackIncomplete), behind
// patch deploy-release-saga-failure-types. A run recorded before the patch must still end with the
// name it was recorded with when replayed (a worker upgraded mid-run must not rename its outcome),
// and clients read both names as one (canonicalFailureType).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { bundleWorkflowCode, Worker } from '@temporalio/worker';
import { canonicalFailureType } from '../../src/workflows/shared/failures';

const silent = { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error() {} };

async function replayEnding(file: string): Promise<{ replayed: string[]; recorded: string }> {
  const history = JSON.parse(readFileSync(path.join(__dirname, file), 'utf8'));
  const last = history.events[history.events.length - 1];
  const recorded = last.workflowExecutionFailedEventAttributes?.failure?.applicationFailureInfo?.type as string;
  const { code } = await bundleWorkflowCode({
    workflowsPath: require.resolve('../fixtures/workflows'),
    workflowInterceptorModules: [require.resolve('../fixtures/failure-type-interceptor')],
    logger: silent,
  });
  const replayed: string[] = [];
  await Worker.runReplayHistory(
    {
      workflowBundle: { code },
      sinks: { ending: { failed: { fn: (_info, type: string) => void replayed.push(type), callDuringReplay: true } } },
    },
    history,
    file.replace(/\.json$/, ''),
  );
  return { replayed, recorded };
}

test('a rolled-back release recorded before the patch replays to its recorded name, ReleaseRolledBack', async () => {
  const { replayed, recorded } = await replayEnding('deploy-release-rolled-back.json');
  expect(recorded).toBe('ReleaseRolledBack');
  expect(replayed).toEqual(['ReleaseRolledBack']);
  expect(canonicalFailureType(recorded)).toBe('RolledBack');
});
