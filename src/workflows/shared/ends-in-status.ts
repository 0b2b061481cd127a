// A run that fails before its saga starts (a refused spec or input, a busy environment, missing
// secrets) still ends with a final state in its `status` query: failed with the reason, or cancelled.
// Queries and current details only: no command, so histories replay unchanged.
import { isCancellation } from '@temporalio/workflow';
import { describeError } from './saga';
import type { StatusTracker } from './status';

export async function endsInStatus<T>(status: StatusTracker, body: () => Promise<T>): Promise<T> {
  try {
    return await body();
  } catch (err) {
    // A saga's own endings (rolled back, kept, done) were recorded where they happened.
    if (!status.ended) {
      status.answerQueries(); // the claim's own answer may stand in for it (a refused claim)
      if (isCancellation(err)) status.finish('cancelled');
      else status.failed(describeError(err));
    }
    throw err;
  }
}
