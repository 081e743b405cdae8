// A year of daily evaluation runs of 1,000 golden questions each: the run records stay small, and the page is
// rendered from them in well under the budget and stays under 1 MB. Prints the figures (README: "Evaluation reports").
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { EvaluationStore } from '../../activities/evaluation-store';
import { writeReportFile } from '../../client/report/load';
import { runRecordOf } from '../../client/report/model';
import { metrics, report } from './fixtures';

const RUNS = 365;
const QUESTIONS = 1000;

test('a year of daily runs of 1,000 questions renders in seconds into a page under 1 MB', async () => {
  const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'groundwork-report-scale-'));
  try {
    const store = new EvaluationStore(path.join(dataDir, 'evaluations'));
    let seed = 1;
    const rnd = (): number => (seed = (seed * 16807) % 2147483647) / 2147483647;
    for (let d = 0; d < RUNS; d++) {
      const results = Array.from({ length: QUESTIONS }, (_, i) => {
        const confidence = rnd();
        return {
          question: `Question ${i}?`,
          status: 'answered' as const,
          confidence,
          retrievalHit: true,
          correct: rnd() < confidence,
        };
      });
      const r = report({
        runAt: new Date(Date.UTC(2025, 0, 1) + d * 864e5).toISOString(),
        metrics: metrics({ questions: QUESTIONS, answerAccuracy: results.filter((x) => x.correct).length / QUESTIONS }),
        baseline: metrics({ questions: QUESTIONS }),
      });
      await store.saveRunRecord(
        runRecordOf(r, results, `run-${d}`, { runKey: `run-${d}`, threshold: 0.6, driftTolerance: 0.1 }),
      );
    }
    const recordBytes = (await fs.stat(path.join(dataDir, 'evaluations', 'acme', 'history', 'run-0.json'))).size;
    const started = performance.now();
    const out = path.join(dataDir, 'report.html');
    const written = await writeReportFile(store, 'acme', out, { driftTolerance: 0.1 });
    const ms = Math.round(performance.now() - started);
    process.stdout.write(
      `evaluation report: ${RUNS} runs × ${QUESTIONS} questions → ${written.bytes} bytes in ${ms} ms (run record ${recordBytes} bytes)\n`,
    );
    expect(written.runs).toBe(RUNS);
    const html = await fs.readFile(out, 'utf8');
    // Five metrics with a point per run, then the last run's curve (one point per distinct confidence).
    const counts = [...html.matchAll(/data-points="(\d+)"/g)].map((m) => Number(m[1]));
    // Confidences are kept to four decimals, so a few of the 1,000 coincide.
    const last = (await store.runRecords('acme')).at(-1);
    const distinct = new Set(last?.outcomes?.map(([confidence]) => confidence)).size;
    expect(distinct).toBeGreaterThan(900);
    expect(counts).toEqual([RUNS, RUNS, RUNS, RUNS, RUNS, distinct]);
    expect(written.bytes).toBeLessThan(1_000_000);
    expect(recordBytes).toBeLessThan(20_000);
    expect(ms).toBeLessThan(10_000);
  } finally {
    await fs.rm(dataDir, { recursive: true, force: true });
  }
});
