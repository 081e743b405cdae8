// Replays recorded histories (test/histories/*.json, made by `npm run histories:record`) against the current
// workflow code: any nondeterministic change fails here. Every workflow type must have a history.
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { Worker, bundleWorkflowCode } from '@temporalio/worker';
import * as workflows from '../workflows';

const dir = path.join(__dirname, 'histories');
const files = readdirSync(dir)
  .filter((f) => f.endsWith('.json'))
  .sort();

function workflowTypeOf(history: ReturnType<typeof historyFromJSON>): string | undefined {
  return history.events?.[0]?.workflowExecutionStartedEventAttributes?.workflowType?.name ?? undefined;
}

test('every workflow type has at least one recorded history', () => {
  const types = new Set(
    files.map((f) => workflowTypeOf(historyFromJSON(JSON.parse(readFileSync(path.join(dir, f), 'utf8'))))),
  );
  for (const name of Object.keys(workflows)) expect(types).toContain(name);
});

test('recorded histories replay without nondeterminism', async () => {
  const workflowBundle = await bundleWorkflowCode({
    workflowsPath: require.resolve('../workflows'),
    logger: { trace() {}, debug() {}, info() {}, warn() {}, error() {}, log() {} },
  });
  const histories = files.map((f) => ({
    workflowId: f,
    history: historyFromJSON(JSON.parse(readFileSync(path.join(dir, f), 'utf8'))),
  }));
  const failures: string[] = [];
  let replayed = 0;
  for await (const result of Worker.runReplayHistories(
    { workflowBundle, replayName: 'groundwork-replay' },
    histories,
  )) {
    replayed += 1;
    if (result.error) failures.push(`${result.workflowId}: ${result.error.message}`);
  }
  expect(failures).toEqual([]);
  expect(replayed).toBe(files.length);
}, 120_000);
