// groundwork_review_backlog from visibility counts and the claims of running tasks (a stand-in source: the real one
// is Temporal, exercised by the metrics integration test).
import { metrics } from '../../common/metrics';
import { backlogCollector, countBacklog } from '../../workers/review-backlog';
import type { BacklogSource } from '../../workers/review-backlog';

const NOW = Date.parse('2026-12-05T10:00:00Z');
const live = { reviewerId: 'r', expiresAt: '2026-12-05T10:10:00Z' };
const lapsed = { reviewerId: 'r', expiresAt: '2026-12-05T09:50:00Z' };

function source(tasks: { status: 'open' | 'escalated'; claim?: typeof live }[]): BacklogSource & { counts: number } {
  const s = {
    counts: 0,
    async count(query: string) {
      s.counts++;
      const status = /ReviewStatus = '(\w+)'/.exec(query)?.[1];
      return tasks.filter((t) => t.status === status).length;
    },
    list: () => ({
      async *[Symbol.asyncIterator]() {
        for (let i = 0; i < tasks.length; i++) yield { workflowId: `review:${i}`, runId: 'r' };
      },
    }),
    state: async (workflowId: string) => tasks[Number(workflowId.split(':')[1])] as { status: 'open' },
  };
  return s;
}

test('claimed tasks are counted apart from open and escalated ones; a lapsed claim is no claim', async () => {
  const backlog = await countBacklog(
    source([
      { status: 'open' },
      { status: 'open', claim: live },
      { status: 'open', claim: lapsed },
      { status: 'escalated' },
      { status: 'escalated', claim: live },
    ]),
    NOW,
  );
  expect(backlog).toEqual({ open: 2, escalated: 1, claimed: 2 });
});

test('no undecided task: zeros without listing anything', async () => {
  const s = source([]);
  s.list = () => {
    throw new Error('listed');
  };
  expect(await countBacklog(s, NOW)).toEqual({ open: 0, escalated: 0, claimed: 0 });
});

test('the gauge is filled at scrape time and recounted only after the cache time', async () => {
  const s = source([{ status: 'open' }, { status: 'escalated' }]);
  const collect = backlogCollector(s, 60_000);
  await collect(metrics.reviewBacklog);
  await collect(metrics.reviewBacklog);
  expect(s.counts).toBe(2); // one count per status, once
  const { values } = await metrics.reviewBacklog.get();
  expect(Object.fromEntries(values.map((v) => [v.labels.status, v.value]))).toEqual({
    open: 1,
    escalated: 1,
    claimed: 0,
  });
});

test('a failed count leaves the gauge as it was and is retried at the next scrape', async () => {
  const s = source([{ status: 'open' }]);
  const count = s.count;
  let fail = true;
  s.count = async (q) => {
    if (fail) throw new Error('unavailable');
    return count(q);
  };
  const collect = backlogCollector(s, 60_000);
  await expect(collect(metrics.reviewBacklog)).resolves.toBeUndefined();
  fail = false;
  await collect(metrics.reviewBacklog);
  const { values } = await metrics.reviewBacklog.get();
  expect(values.find((v) => v.labels.status === 'open')?.value).toBe(1);
});
