// whileHeartbeating: a timer keeps beating while an activity works, repeating the latest progress (first the details
// the attempt resumed from), so a retry after a dead worker resumes where the last beat said.
import { MockActivityEnvironment } from '@temporalio/testing';
import { whileHeartbeating } from '../../activities/heartbeat';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('beats on a timer with the resumed details, then with each new progress, and stops after the work', async () => {
  const env = new MockActivityEnvironment({ heartbeatDetails: { next: 4 } });
  const beats: unknown[] = [];
  env.on('heartbeat', (d: unknown) => beats.push(d));
  const result = await env.run(() =>
    whileHeartbeating(async (progress) => {
      await sleep(130);
      progress({ next: 8 });
      await sleep(130);
      return 'done';
    }, 50),
  );
  expect(result).toBe('done');
  const resumed = beats.filter((b) => (b as { next: number }).next === 4).length;
  const after = beats.filter((b) => (b as { next: number }).next === 8).length;
  expect(resumed).toBeGreaterThanOrEqual(2);
  expect(after).toBeGreaterThanOrEqual(3); // the progress beat and the timer's repeats
  expect(beats.findIndex((b) => (b as { next: number }).next === 8)).toBe(resumed);
  const count = beats.length;
  await sleep(150);
  expect(beats.length).toBe(count);
});
