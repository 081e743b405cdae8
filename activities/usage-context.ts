// Whose model calls these are: an activity inbound interceptor puts the activity input's `tenantId` in an
// AsyncLocalStorage for the duration of the activity, where the metered models (models/metered.ts) read it.
import { AsyncLocalStorage } from 'node:async_hooks';
import type {
  ActivityExecuteInput,
  ActivityInboundCallsInterceptor,
  ActivityInterceptors,
  Next,
} from '@temporalio/worker';
import { TENANT_ID_PATTERN } from '../common/ids';

interface UsageScope {
  tenantId?: string;
}

const storage = new AsyncLocalStorage<UsageScope>();

/** The tenant of the running activity, when its input names one. */
export function currentTenantId(): string | undefined {
  return storage.getStore()?.tenantId;
}

/** Runs `fn` as work for `tenantId` (the interceptor does this for each activity; tests may call it directly). */
export function runForTenant<T>(tenantId: string | undefined, fn: () => T): T {
  return storage.run({ tenantId }, fn);
}

/** The tenant of an activity's first argument (`{ tenantId, ... }`), when it is a valid tenant id. */
export function tenantOfArgs(args: readonly unknown[]): string | undefined {
  const first = args[0] as { tenantId?: unknown } | null | undefined;
  const t = first && typeof first === 'object' ? first.tenantId : undefined;
  return typeof t === 'string' && TENANT_ID_PATTERN.test(t) ? t : undefined;
}

export class UsageContextInterceptor implements ActivityInboundCallsInterceptor {
  execute(input: ActivityExecuteInput, next: Next<ActivityInboundCallsInterceptor, 'execute'>): Promise<unknown> {
    return runForTenant(tenantOfArgs(input.args), () => next(input));
  }
}

/** For Worker.create({ interceptors: { activity: [failureMapping, usageContext] } }). */
export const usageContext = (): ActivityInterceptors => ({ inbound: new UsageContextInterceptor() });

/** Token usage a provider reported for one model call (summed over its requests). */
export interface ReportedUsage {
  prompt: number;
  completion: number;
}

interface UsageSlot extends ReportedUsage {
  reports: number;
  /** A request without usage: the call's usage is unknown (the caller counts tokens itself). */
  missing: boolean;
}

const reported = new AsyncLocalStorage<UsageSlot>();

const count = (n: unknown): number | undefined =>
  typeof n === 'number' && Number.isFinite(n) && n >= 0 ? n : undefined;

/**
 * Called by provider adapters (models/openai.ts) with a response's `usage`: added to the call being measured by
 * captureModelUsage, if any; a no-op otherwise.
 */
export function reportModelUsage(
  usage: { prompt_tokens?: unknown; completion_tokens?: unknown } | null | undefined,
  kind: 'embedding' | 'chat',
): void {
  const slot = reported.getStore();
  if (!slot) return;
  const prompt = count(usage?.prompt_tokens);
  const completion = kind === 'chat' ? count(usage?.completion_tokens) : 0;
  slot.reports += 1;
  if (prompt === undefined || completion === undefined) slot.missing = true;
  else {
    slot.prompt += prompt;
    slot.completion += completion;
  }
}

/** Runs one model call and returns its value with the usage the provider reported (undefined when it gave none). */
export async function captureModelUsage<T>(fn: () => Promise<T>): Promise<{ value: T; usage?: ReportedUsage }> {
  const slot: UsageSlot = { prompt: 0, completion: 0, reports: 0, missing: false };
  const value = await reported.run(slot, fn);
  return slot.reports > 0 && !slot.missing
    ? { value, usage: { prompt: slot.prompt, completion: slot.completion } }
    : { value };
}
