// Activity time limits that configuration must respect too: a parse limit at or above the parse activity's own
// start-to-close timeout would let Temporal give up on an attempt whose parse is still legitimately running.
// Pure constants, safe in workflow code.

/** Start-to-close timeout of prepareDocument (parse and stage). */
export const PREPARE_DOCUMENT_TIMEOUT_MS = 10 * 60_000;
/** prepareDocument heartbeats while its parse runs; a worker that dies is noticed within this. */
export const PREPARE_DOCUMENT_HEARTBEAT_TIMEOUT_MS = 20_000;
/** The other ingestion steps (embed, activate, discard) heartbeat every 5 s too: a dead worker is noticed within this. */
export const INGEST_STEP_HEARTBEAT_TIMEOUT_MS = 20_000;
/** Start-to-close timeout of one generateDraft attempt: one chat request (GROUNDWORK_CHAT_TIMEOUT) must end before. */
export const CHAT_ATTEMPT_TIMEOUT_MS = 25_000;
/** All attempts of generateDraft for one question: then the question degrades (escalates or answers extractively). */
export const CHAT_BUDGET_MS = 60_000;
