// The request pacer on a simulated clock: it lets through at most the budget in any window, in
// the order requests asked, without gaps while requests wait, and holds everything after a pause
// (a 429's retry-after, or a spent budget) until the moment given.
import { RequestPacer } from '../../src/integrations/digitalocean/pacer';

beforeEach(() => jest.useFakeTimers({ now: 1_000_000 }));
afterEach(() => jest.useRealTimers());

/** Asks for `count` requests; records when each was let through, by the order it asked in. */
function ask(pacer: RequestPacer, count: number, tag = ''): { at: Map<string, number> } {
  const at = new Map<string, number>();
  for (let i = 0; i < count; i++) void pacer.acquire().then(() => at.set(`${tag}${i}`, Date.now() - 1_000_000));
  return { at };
}

test('at most the budget goes out in any window; the rest go as soon as the oldest leave the window, in order', async () => {
  const pacer = new RequestPacer({ perWindow: 5, windowMs: 1000 });
  const { at } = ask(pacer, 12);
  await jest.advanceTimersByTimeAsync(0);
  expect([...at.values()]).toEqual([0, 0, 0, 0, 0]);
  expect(pacer.queued).toBe(7);
  await jest.advanceTimersByTimeAsync(999);
  expect(at.size).toBe(5);
  await jest.advanceTimersByTimeAsync(1);
  expect(at.size).toBe(10);
  await jest.advanceTimersByTimeAsync(1000);
  expect([...at.entries()]).toEqual(Array.from({ length: 12 }, (_, i) => [String(i), i < 5 ? 0 : i < 10 ? 1000 : 2000]));
  expect(pacer.queued).toBe(0);
});

test('a budget spent gradually frees gradually: each request waits only for the one a window before it', async () => {
  const pacer = new RequestPacer({ perWindow: 3, windowMs: 1000 });
  for (const offset of [0, 100, 200]) {
    await jest.advanceTimersByTimeAsync(offset === 0 ? 0 : 100);
    void pacer.acquire();
  }
  const { at } = ask(pacer, 3, 'late');
  await jest.advanceTimersByTimeAsync(2000);
  expect([...at.values()]).toEqual([1000, 1100, 1200]);
});

test('a pause holds every request until it ends, then the budget applies as before', async () => {
  const pacer = new RequestPacer({ perWindow: 10, windowMs: 1000 });
  pacer.pauseUntil(Date.now() + 5000);
  pacer.pauseUntil(Date.now() + 2000); // an earlier end does not shorten the pause
  const { at } = ask(pacer, 3);
  await jest.advanceTimersByTimeAsync(4999);
  expect(at.size).toBe(0);
  await jest.advanceTimersByTimeAsync(1);
  expect([...at.values()]).toEqual([5000, 5000, 5000]);
});

test('a budget below one request is refused at once', () => {
  expect(() => new RequestPacer({ perWindow: 0 })).toThrow('a request budget must allow at least 1 request, not 0');
});
