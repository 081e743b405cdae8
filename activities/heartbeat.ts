// Heartbeats for activities whose worker may die mid-call: Temporal notices a dead worker by the missing heartbeat
// (the proxy's heartbeatTimeout, 20 s) instead of waiting out the whole start-to-close timeout, so a document in flight
// on a killed worker is retried on another within seconds. A timer beats every few seconds, repeating the latest
// progress details (a beat without them would erase what a retry resumes from).
import { Context } from '@temporalio/activity';

export const HEARTBEAT_EVERY_MS = 5_000;

/**
 * Runs `work` while heartbeating every HEARTBEAT_EVERY_MS. `progress(details)` records new details (and beats at
 * once); until then the timer repeats the details this attempt resumed from.
 */
export async function whileHeartbeating<T>(
  work: (progress: (details: unknown) => void) => Promise<T>,
  everyMs = HEARTBEAT_EVERY_MS,
): Promise<T> {
  const ctx = Context.current();
  let details: unknown = ctx.info.heartbeatDetails;
  const beat = (): void => ctx.heartbeat(details);
  const timer = setInterval(beat, everyMs);
  try {
    return await work((next) => {
      details = next;
      beat();
    });
  } finally {
    clearInterval(timer);
  }
}
