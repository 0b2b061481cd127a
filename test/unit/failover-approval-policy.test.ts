// failoverSite's approval policy as the workflow and `opsflow failover` check it: none by default
// (a human approves, however long it takes); escalateAfter and notify go together; autoApproveAfter
// must come after escalateAfter; a webhook given as a URL instead of a secret reference is refused
// without echoing it.
import { parseFailoverSiteInput, type FailoverSiteInput } from '../../src/specs/failover';
import { twoSites } from '../helpers/site-inputs';

const input = (over: Partial<FailoverSiteInput> = {}): FailoverSiteInput => ({
  ...twoSites,
  from: 'fra1',
  to: 'london',
  ...over,
});

test('default: no policy, a human approves', () => {
  expect(parseFailoverSiteInput(input()).approval).toBeUndefined();
});

test('escalation with a notice, then keep waiting or approve itself later', () => {
  const notify = { webhook: 'env:OPSFLOW_SECRET_FAILOVER_WEBHOOK' };
  expect(parseFailoverSiteInput(input({ approval: { escalateAfter: '5m', notify } })).approval).toEqual({ escalateAfter: '5m', notify });
  expect(parseFailoverSiteInput(input({ approval: { escalateAfter: '5m', autoApproveAfter: '15m', notify } })).approval).toMatchObject({
    autoApproveAfter: '15m',
  });
  expect(parseFailoverSiteInput(input({ approval: { autoApproveAfter: '10m' } })).approval).toEqual({ autoApproveAfter: '10m' });
});

test('every problem named: a notice without a time, a time without a notice, auto-approval before escalation, a bad duration', () => {
  expect(() => parseFailoverSiteInput(input({ approval: { notify: { webhook: 'env:HOOK' } } }))).toThrow(
    /approval.escalateAfter: notify needs to know when to send the notice/,
  );
  expect(() => parseFailoverSiteInput(input({ approval: { escalateAfter: '1m' } }))).toThrow(
    /approval.notify: escalateAfter needs a webhook/,
  );
  expect(() =>
    parseFailoverSiteInput(input({ approval: { escalateAfter: '10m', autoApproveAfter: '600s', notify: { webhook: 'env:HOOK' } } })),
  ).toThrow(/approval.autoApproveAfter: 600s is not after escalateAfter 10m/);
  expect(() => parseFailoverSiteInput(input({ approval: { autoApproveAfter: 'soon' } }))).toThrow(
    /approval.autoApproveAfter: must be a duration such as 30s, 5m or 1h/,
  );
});

test('a webhook URL in place of a secret reference is refused without echoing it', () => {
  const url = 'https://hooks.example.com/services/T0/B0/s3cr3t';
  let message = '';
  try {
    parseFailoverSiteInput(input({ approval: { escalateAfter: '1m', notify: { webhook: url } } }));
  } catch (err) {
    message = (err as Error).message;
  }
  expect(message).toMatch(/approval.notify.webhook/);
  expect(message).not.toContain('s3cr3t');
});
