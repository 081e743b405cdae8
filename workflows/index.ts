// The workflow types the worker registers.
export { ingestDocument, ingestBatch } from './ingest';
export { answerQuestion } from './answer';
export { reviewTask } from './review';
export { evaluateTenant } from './evaluate';
export { deleteDocument, purgeTenant } from './documents';
