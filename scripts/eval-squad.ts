// Answer quality through the real path: `npm run eval:squad -- [file] [--json] [--fit] [--embeddings offline|local]
// [--answers offline|openai] [--all] [--limit N]`. Each SQuAD 2.0 article becomes a Markdown document of a scratch
// tenant, ingested by the real activities (parse, embed, upsert, activate) into the configured store (LanceDB, or
// Qdrant with QDRANT_URL); each question is asked through the answering workflow's own steps (answer-steps.ts) over
// the same activities, with the tenant's threshold from its policy. Prints retrieval hit@1/@5, gold-span share,
// abstention, served-wrong and escalation rates, the risk–coverage curve and p50/p95 per question, twice: with the
// shipped calibration, and held out (each article scored by a calibration fitted on the other articles only), which
// is the honest figure for documents the fit has never seen. `--fit` writes the all-article fit into the shipped
// defaults (activities/answer/calibrations/default.json).
import { existsSync, promises as fs, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DefaultLogger } from '@temporalio/worker';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createActivities } from '../activities';
import type { Activities, PreparedDocument } from '../activities';
import { failureMapping } from '../activities/failures';
import type { Calibration, LabelledOutcome } from '../activities/answer/calibration';
import { calibratedConfidence, fitCalibration, riskCoverage } from '../activities/answer/calibration';
import { modelsKey } from '../activities/answer/defaults';
import type { AnswerSignals } from '../activities/answer/signals';
import type { VectorStore } from '../activities/vectors/types';
import { loadConfig } from '../common/config';
import { createActivityDeps } from '../workers/worker';
import { runAnswerSteps } from '../workflows/answer-steps';

interface Squad {
  data: {
    title: string;
    paragraphs: {
      context: string;
      qas: { question: string; is_impossible: boolean; answers: { text: string; answer_start: number }[] }[];
    }[];
  }[];
}

/** One question's outcome through the real path. */
interface Outcome {
  article: string;
  answerable: boolean;
  status: string;
  correct: boolean;
  containsGold: boolean;
  confidence: number;
  signals?: AnswerSignals;
  hitRank?: number;
  ms: number;
  /** Held out: the threshold of the fit that scored this question (its article's fold). */
  threshold?: number;
}

interface Metrics {
  questions: number;
  threshold: number;
  hitAt1: number;
  hitAt5: number;
  goldShare: number;
  servedAnswerableGold: number;
  unanswerableAbstainedOrEscalated: number;
  servedWrong: number;
  escalation: number;
  riskCoverage: { threshold: number; coverage: number; risk: number }[];
}

const TENANT = 'squad-eval';
const TOP_K = 5;
const args = process.argv.slice(2);
const flag = (name: string): boolean => args.includes(`--${name}`);
const option = (name: string): string | undefined => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
};
const file =
  args.find((a, i) => !a.startsWith('--') && !args[i - 1]?.match(/^--(embeddings|answers|limit)$/)) ??
  path.resolve(__dirname, '..', '..', 'shared', 'data', 'squad', 'squad-v2-dev-sample.json');
const normalize = (s: string): string => s.replace(/\s+/g, ' ').trim().toLowerCase();

async function ingest(activities: Activities, env: () => MockActivityEnvironment, squad: Squad): Promise<void> {
  for (const [i, article] of squad.data.entries()) {
    const text = `# ${article.title.replace(/_/g, ' ')}\n\n${article.paragraphs.map((p) => p.context).join('\n\n')}\n`;
    const input = {
      tenantId: TENANT,
      documentId: `article-${i}`,
      source: {
        kind: 'inline' as const,
        name: `${article.title}.md`,
        contentBase64: Buffer.from(text).toString('base64'),
      },
    };
    const prepared = (await env().run(activities.prepareDocument, input)) as PreparedDocument;
    if (prepared.unchanged || !prepared.stagingRef) continue;
    const base = { tenantId: TENANT, documentId: input.documentId, version: prepared.version };
    await env().run(activities.embedAndUpsert, { ...base, stagingRef: prepared.stagingRef });
    await env().run(activities.activateDocument, { ...base, stagingRef: prepared.stagingRef });
  }
}

/** The gold passage: the answer with a little of its paragraph on each side, as a retrieved chunk must contain it. */
function goldWindow(context: string, answer: { text: string; answer_start: number }): string {
  const from = Math.max(0, answer.answer_start - 15);
  return normalize(context.slice(from, answer.answer_start + answer.text.length + 15));
}

async function askAll(activities: Activities, vectors: VectorStore, squad: Squad, limit: number): Promise<Outcome[]> {
  const outcomes: Outcome[] = [];
  for (const article of squad.data) {
    const qas = article.paragraphs.flatMap((p) => p.qas.map((qa) => ({ qa, context: p.context })));
    for (const { qa, context } of qas.slice(0, limit)) {
      const started = performance.now();
      const r = await runAnswerSteps(activities, { tenantId: TENANT, question: qa.question, topK: TOP_K });
      const ms = performance.now() - started;
      const answer = normalize(r.answer);
      const containsGold =
        r.status === 'answered' && qa.answers.some((a) => a.text.trim() && answer.includes(normalize(a.text)));
      const windows = qa.answers.map((a) => goldWindow(context, a));
      const texts = new Map(
        (
          await vectors.getChunks(
            TENANT,
            r.retrieved.map((c) => c.chunkId),
          )
        ).map((c) => [c.id, normalize(c.payload.text)]),
      );
      const rank = r.retrieved.findIndex((c) => windows.some((w) => texts.get(c.chunkId)?.includes(w)));
      outcomes.push({
        article: article.title,
        answerable: !qa.is_impossible,
        status: r.status,
        correct: qa.is_impossible ? r.status === 'not_found' : containsGold,
        containsGold,
        confidence: r.confidence,
        signals: r.signals,
        hitRank: rank >= 0 ? rank + 1 : undefined,
        ms,
      });
    }
  }
  return outcomes;
}

const share = (xs: boolean[]): number => (xs.length ? xs.filter(Boolean).length / xs.length : 0);

function metricsOf(outcomes: Outcome[], threshold: number): Metrics {
  const answerable = outcomes.filter((o) => o.answerable);
  const unanswerable = outcomes.filter((o) => !o.answerable);
  const served = (o: Outcome): boolean => o.confidence >= (o.threshold ?? threshold);
  const curve = riskCoverage(outcomes.map((o) => ({ confidence: o.confidence, correct: o.correct })));
  const n = outcomes.length;
  const picks = [0.5, 0.6, 0.7, 0.8, 0.9, 0.95].map((t) => {
    const point = curve.filter((p) => p.confidence >= t).at(-1);
    return {
      threshold: t,
      coverage: point ? point.served / n : 0,
      risk: point && point.served ? point.wrong / point.served : 0,
    };
  });
  const servedAnswered = answerable.filter((o) => served(o) && o.status === 'answered');
  return {
    questions: n,
    threshold,
    hitAt1: share(answerable.map((o) => o.hitRank === 1)),
    hitAt5: share(answerable.map((o) => o.hitRank !== undefined && o.hitRank <= 5)),
    goldShare: share(answerable.map((o) => o.containsGold)),
    servedAnswerableGold: share(servedAnswered.map((o) => o.containsGold)),
    unanswerableAbstainedOrEscalated: share(unanswerable.map((o) => o.status !== 'answered' || !served(o))),
    servedWrong: share(outcomes.map((o) => served(o) && !o.correct)),
    escalation: share(outcomes.map((o) => !served(o))),
    riskCoverage: picks,
  };
}

const labelled = (outcomes: Outcome[]): (LabelledOutcome & { o: Outcome })[] =>
  outcomes.flatMap((o) =>
    o.signals && (o.status === 'answered' || o.status === 'not_found')
      ? [{ kind: o.status, signals: o.signals, correct: o.correct, o }]
      : [],
  );

/** Each article scored by a calibration fitted on the other articles only, with that fit's own threshold. */
function heldOut(outcomes: Outcome[], models: string, targetRisk: number): Outcome[] {
  const articles = [...new Set(outcomes.map((o) => o.article))];
  return articles.flatMap((article) => {
    const fit = fitCalibration(labelled(outcomes.filter((o) => o.article !== article)), {
      version: 'held-out',
      models,
      targetRisk,
    });
    return outcomes
      .filter((o) => o.article === article)
      .map((o) => ({ ...o, confidence: rescore(fit, o), threshold: fit.threshold }));
  });
}

function rescore(fit: Calibration, o: Outcome): number {
  if (!o.signals || (o.status !== 'answered' && o.status !== 'not_found')) return o.confidence;
  return calibratedConfidence(fit, o.status, o.signals);
}

const percentile = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? 0;
};

async function runCombo(squad: Squad, embeddings: string, answers: string, limit: number) {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'groundwork-squad-'));
  const config = loadConfig({
    ...process.env,
    GROUNDWORK_DATA_DIR: dir,
    GROUNDWORK_EMBEDDINGS: embeddings,
    GROUNDWORK_ANSWERS: answers,
    GROUNDWORK_CONFIDENCE: process.env.GROUNDWORK_CONFIDENCE ?? 'calibrated',
  });
  const deps = await createActivityDeps(config);
  try {
    const activities = createActivities(deps);
    const logger = new DefaultLogger('ERROR');
    const env = (): MockActivityEnvironment =>
      new MockActivityEnvironment({}, { interceptors: [failureMapping], logger });
    const ingestStarted = performance.now();
    await ingest(activities, env, squad);
    const ingestMs = performance.now() - ingestStarted;
    const outcomes = await askAll(activities, deps.vectors, squad, limit);
    const policy = await activities.tenantPolicy({ tenantId: TENANT });
    const models = modelsKey(deps.embedder.id, deps.answerer.id);
    return { embeddings, answers, models, ingestMs, outcomes, policy, targetRisk: config.answering.targetRisk };
  } finally {
    await deps.vectors.deleteTenant(TENANT).catch(() => undefined);
    await deps.vectors.close();
    await deps.stopModels();
    await fs.rm(dir, { recursive: true, force: true });
  }
}

function report(run: Awaited<ReturnType<typeof runCombo>>) {
  const ms = run.outcomes.map((o) => o.ms);
  const shipped = metricsOf(run.outcomes, run.policy.threshold);
  // Each question served against its own fold's threshold (the threshold argument is then unused).
  const held = { ...metricsOf(heldOut(run.outcomes, run.models, run.targetRisk), NaN), threshold: NaN };
  return {
    embeddings: run.embeddings,
    answers: run.answers,
    models: run.models,
    calibration: run.policy.calibration,
    ingestSeconds: Math.round(run.ingestMs) / 1000,
    p50Ms: Math.round(percentile(ms, 50) * 10) / 10,
    p95Ms: Math.round(percentile(ms, 95) * 10) / 10,
    shipped,
    heldOut: held,
  };
}

const pct = (x: number): string => `${(x * 100).toFixed(1)}%`;

function print(r: ReturnType<typeof report>): void {
  const out = (s: string): void => void process.stdout.write(`${s}\n`);
  out(`\n== embeddings ${r.embeddings}, answers ${r.answers} (${r.models}; calibration ${r.calibration})`);
  out(`ingest ${r.ingestSeconds}s; per question p50 ${r.p50Ms} ms, p95 ${r.p95Ms} ms`);
  for (const [name, m] of [
    ['held out (fit on the other articles)', r.heldOut],
    [`shipped fit (threshold ${r.shipped.threshold})`, r.shipped],
  ] as const) {
    out(`-- ${name}: ${m.questions} questions`);
    out(`   retrieval hit@1 ${pct(m.hitAt1)}, hit@5 ${pct(m.hitAt5)}; answer contains gold ${pct(m.goldShare)}`);
    out(
      `   served-wrong ${pct(m.servedWrong)}, escalation ${pct(m.escalation)}, answered without review with gold ${pct(m.servedAnswerableGold)}, unanswerable abstained or escalated ${pct(m.unanswerableAbstainedOrEscalated)}`,
    );
    out(
      `   risk–coverage: ${m.riskCoverage.map((p) => `≥${p.threshold}: coverage ${pct(p.coverage)} risk ${pct(p.risk)}`).join('; ')}`,
    );
  }
}

async function main(): Promise<void> {
  if (!existsSync(file)) {
    process.stdout.write(`no SQuAD file at ${path.relative(process.cwd(), file)}; pass one as an argument\n`);
    return;
  }
  const squad = JSON.parse(readFileSync(file, 'utf8')) as Squad;
  const limit = Number(option('limit') ?? Infinity);
  const chat = Boolean(process.env.CHAT_BASE_URL ?? process.env.CHAT_API_KEY ?? process.env.OPENAI_API_KEY);
  const combos: [string, string][] = flag('all')
    ? ['offline', 'local'].flatMap((e) => ['offline', ...(chat ? ['openai'] : [])].map((a): [string, string] => [e, a]))
    : [[option('embeddings') ?? process.env.GROUNDWORK_EMBEDDINGS ?? 'offline', option('answers') ?? 'offline']];
  const reports = [];
  for (const [e, a] of combos) {
    const run = await runCombo(squad, e, a, limit);
    const r = report(run);
    reports.push(r);
    if (!flag('json')) print(r);
    if (flag('fit')) await writeFit(run);
  }
  if (flag('all') && !chat && !flag('json'))
    process.stdout.write('\n(answers openai: not run, no CHAT_BASE_URL or API key is configured)\n');
  if (flag('json')) process.stdout.write(`${JSON.stringify(reports, null, 2)}\n`);
}

async function writeFit(run: Awaited<ReturnType<typeof runCombo>>): Promise<void> {
  const target = path.resolve(__dirname, '..', 'activities', 'answer', 'calibrations', 'default.json');
  const fits = JSON.parse(await fs.readFile(target, 'utf8')) as Calibration[];
  const date = new Date().toISOString().slice(0, 10);
  const fit = fitCalibration(labelled(run.outcomes), {
    version: `default-squad-${date}:${run.models}`,
    models: run.models,
    targetRisk: run.targetRisk,
  });
  const next = [...fits.filter((f) => f.models !== run.models), fit];
  await fs.writeFile(target, `${JSON.stringify(next, null, 1)}\n`);
  process.stdout.write(`wrote the ${run.models} fit (threshold ${fit.threshold}, ${fit.labels} labels)\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
