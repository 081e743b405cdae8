// `groundwork eval report`: the tenant's evaluation runs as one self-contained HTML page (charts over time, the last
// run against its baseline, its risk–coverage curve, the worst questions, cost per query). Reads the data dir (or the shared bucket) only:
// no Temporal connection is needed.
import path from 'node:path';
import { Option } from 'commander';
import type { Command } from 'commander';
import { EvaluationStore } from '../activities/evaluation-store';
import { loadConfig } from '../common/config';
import type { S3Settings } from '../common/config';
import { openObjectStore } from '../common/shared-state';
import { ClientInputError, tenantIdSchema } from './groundwork-client';
import { writeReportFile } from './report/load';

type Print = (value: unknown, text: () => string) => void;

export interface EvalReportInput {
  dataDir: string;
  /** The shared object store (S3_BUCKET) when the deployment has one; default the data dir. */
  objectStore?: S3Settings;
  tenantId: string;
  out: string;
  driftTolerance: number;
  now?: Date;
}

/** Writes the tenant's report to `out`; what the CLI command runs. */
export async function writeEvaluationReport(
  input: EvalReportInput,
): Promise<{ file: string; bytes: number; runs: number }> {
  const tenant = tenantIdSchema.safeParse(input.tenantId);
  if (!tenant.success) throw new ClientInputError('INVALID_TENANT', 'The tenant id is not valid.');
  if (!input.out.trim()) throw new ClientInputError('INVALID_INPUT', 'The --out file name is empty.');
  const file = path.resolve(input.out);
  const store = EvaluationStore.inStore(
    openObjectStore({ dataDir: input.dataDir, blobDir: input.dataDir, objectStore: input.objectStore }),
    input.dataDir,
  );
  const written = await writeReportFile(store, tenant.data, file, {
    driftTolerance: input.driftTolerance,
    ...(input.now ? { now: input.now } : {}),
  });
  return { file, ...written };
}

export function addEvalReportCommand(evaluation: Command, print: Print): void {
  evaluation
    .command('report')
    .description("write the tenant's evaluation runs as one self-contained HTML page (no network needed to view it)")
    .addOption(
      new Option('--tenant <tenant>', 'tenant id').makeOptionMandatory().argParser((v: string) => {
        const r = tenantIdSchema.safeParse(v);
        if (!r.success) throw new ClientInputError('INVALID_TENANT', 'The tenant id is not valid.');
        return r.data;
      }),
    )
    .requiredOption('--out <file>', 'the HTML file to write, e.g. report.html')
    .action(async (opts: { tenant: string; out: string }) => {
      const config = loadConfig();
      const r = await writeEvaluationReport({
        dataDir: config.dataDir,
        ...(config.objectStore ? { objectStore: config.objectStore } : {}),
        tenantId: opts.tenant,
        out: opts.out,
        driftTolerance: config.evaluation.driftTolerance,
      });
      print(r, () => `wrote ${r.file} (${r.runs} run${r.runs === 1 ? '' : 's'}, ${r.bytes} bytes)`);
    });
}
