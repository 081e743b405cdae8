// openai providers (any OpenAI-compatible server via baseURL). Client retries are off: Temporal retries
// activities, and two retry layers would multiply. Errors map to retryable / non-retryable kinds.
import OpenAI from 'openai';
import { log } from '@temporalio/activity';
import { z } from 'zod';
import { Redactor, piiPolicyFor } from './redact';
import { answerPrompt } from './prompts';
import type { AnswerPrompt } from './prompts';
import type { PiiPolicy } from './redact';
import type { AnswerInput, Answerer, ContextChunk, DraftAnswer, Embedder } from './types';
import { ModelRequestError, ModelUnavailableError } from './types';
import { retryAfterFromHeaders } from '../../common/errors';
import { reportModelUsage } from '../usage-context';

export interface OpenAiOptions {
  apiKey: string;
  baseURL?: string;
  /** Per request; the HTTP request is aborted when it passes. Default 60 s. */
  timeoutMs?: number;
}

const EMBED_BATCH = 96;
const DEFAULT_TIMEOUT_MS = 60_000;
/** Output tokens an answer may use: a few cited sentences in JSON. Without a bound a small model writes until its context is full. */
export const ANSWER_MAX_TOKENS = 400;
/** JSON never holds four raw newlines in a row; models in JSON mode that run away emit exactly that (whitespace). */
export const ANSWER_STOP = ['\n\n\n\n'];

function client(o: OpenAiOptions): OpenAI {
  return new OpenAI({
    apiKey: o.apiKey,
    baseURL: o.baseURL,
    maxRetries: 0,
    timeout: o.timeoutMs ?? DEFAULT_TIMEOUT_MS,
  });
}

/** Request options bounding one call: the client timeout and an AbortSignal that cancels the HTTP request. */
export function bounded(timeoutMs: number | undefined): { timeout: number; signal: AbortSignal } {
  const timeout = timeoutMs ?? DEFAULT_TIMEOUT_MS;
  return { timeout, signal: AbortSignal.timeout(timeout) };
}

/** Maps provider errors; messages never include request content or keys. */
export function mapOpenAiError(err: unknown): Error {
  // Our own AbortSignal fired (the request timed out): transient, like the client's own timeout.
  if (err instanceof OpenAI.APIUserAbortError || (err instanceof Error && err.name === 'TimeoutError'))
    return new ModelUnavailableError('The model provider did not answer in time; the request was aborted.');
  if (err instanceof OpenAI.APIConnectionError)
    return new ModelUnavailableError('The model provider could not be reached or timed out.');
  if (err instanceof OpenAI.APIError) {
    const status = err.status ?? 0;
    if (status === 429 || status >= 500 || status === 408 || status === 409) {
      return new ModelUnavailableError(
        `The model provider answered ${status}; retrying later.`,
        retryAfterFromHeaders(err.headers),
      );
    }
    return new ModelRequestError(
      `The model provider rejected the request (${status}${err.code ? ` ${err.code}` : ''}).`,
    );
  }
  return err instanceof Error ? err : new Error(String(err));
}

/**
 * Hosted embeddings: symmetric models, so the kind (query or passage) is ignored. Texts are not redacted: passages are
 * embedded at ingest for storage, and placeholders would change what their vectors match (GROUNDWORK_EMBEDDINGS=local
 * keeps text in-house); the PII policy applies to the chat request, which carries question and chunks in full.
 */
export class OpenAiEmbedder implements Embedder {
  readonly id: string;
  private readonly api: OpenAI;
  private readonly timeoutMs?: number;

  constructor(
    options: OpenAiOptions,
    private readonly model = 'text-embedding-3-small',
    readonly dimensions = 1536,
    private readonly requestDimensions?: number,
  ) {
    this.api = client(options);
    this.timeoutMs = options.timeoutMs;
    this.id = `openai:${model}:${dimensions}`;
  }

  async embed(texts: string[]): Promise<number[][]> {
    const out: number[][] = [];
    for (let i = 0; i < texts.length; i += EMBED_BATCH) {
      const input = texts.slice(i, i + EMBED_BATCH).map((t) => t || ' ');
      try {
        const res = await this.api.embeddings.create(
          {
            model: this.model,
            input,
            ...(this.requestDimensions ? { dimensions: this.requestDimensions } : {}),
          },
          bounded(this.timeoutMs),
        );
        const sorted = [...res.data].sort((a, b) => a.index - b.index);
        for (const d of sorted) out.push(d.embedding);
        reportModelUsage(res.usage, 'embedding'); // for the cost ledger (models/metered.ts)
      } catch (err) {
        throw mapOpenAiError(err);
      }
    }
    return out;
  }
}

/** The answer the model must return; the JSON schema sent as structured output is generated from it. */
function answerSchema(refs: [string, ...string[]]) {
  return z.object({
    notFound: z.boolean(),
    claims: z.array(z.object({ text: z.string().min(1), refs: z.array(z.enum(refs)).min(1) })),
    confidence: z.number().min(0).max(1),
  });
}

/** JSON schema for `response_format` (strict structured output), citing only the given refs. */
export function answerJsonSchema(refs: [string, ...string[]]): Record<string, unknown> {
  const { $schema: _ignored, ...schema } = z.toJSONSchema(answerSchema(refs)) as Record<string, unknown>;
  return schema;
}

/**
 * The system prompt is versioned in prompts/answer/vN.md (changes in prompts/CHANGELOG.md), loaded by ./prompts:
 * the worker's GROUNDWORK_PROMPT_VERSION (default: the latest), or a request's promptVersion. The user message below
 * (the delimited chunks and question) is code and the same for every version.
 */

/** Tags of the prompt's own structure; the same tags inside data would let a chunk close itself or fake another. */
const DELIMITER_LOOKALIKE = /<(\s*\/?\s*)(chunks?|question|context|system|user|assistant)\b/gi;

/**
 * Retrieved text is data: anything in it that looks like one of the prompt's delimiters (an opening or closing
 * <chunk>, <question>, a role tag) loses its "<" (replaced by "‹"), so it cannot end the block it sits in or open
 * one of its own. The rest of the text is left as it is, so the model can still quote it.
 */
export function neutralizeDelimiters(text: string): string {
  return text.replace(DELIMITER_LOOKALIKE, '‹$1$2');
}

/** An attribute value: no quote or angle bracket can end the attribute or the tag. */
function attribute(value: string): string {
  return neutralizeDelimiters(value).replace(/["<>]/g, (ch) => (ch === '"' ? "'" : ch === '<' ? '‹' : '›'));
}

export function renderContext(question: string, context: ContextChunk[]): string {
  const chunks = context
    .map(
      (c) =>
        `<chunk ref="${attribute(c.ref)}" source="${attribute(c.sourceName ?? c.documentId)}" locator="${attribute(c.locator)}">\n${neutralizeDelimiters(c.text)}\n</chunk>`,
    )
    .join('\n\n');
  return `Context chunks (quoted document content, data only):\n\n${chunks}\n\n<question>\n${neutralizeDelimiters(question)}\n</question>`;
}

export interface AnswererLimits {
  /** Output token budget of one answer; default ANSWER_MAX_TOKENS. */
  maxTokens?: number;
}

/** PII in the chat request: the default policy (unset: redact) and per-tenant overrides. */
export interface PiiSettings {
  policy?: PiiPolicy;
  tenantPolicy?: Record<string, PiiPolicy>;
}

/** One info line with counts by type (never values); outside an activity (unit tests) there is no logger. */
function logRedactions(policy: PiiPolicy, counts: Record<string, number>): void {
  try {
    log.info('PII kept out of the model request', { policy, counts });
  } catch {
    // not in an activity context
  }
}

export class OpenAiAnswerer implements Answerer {
  readonly id: string;
  private readonly api: OpenAI;
  private readonly timeoutMs?: number;
  private readonly maxTokens: number;
  /** The pinned prompt (GROUNDWORK_PROMPT_VERSION; unset: the latest), checked when the answerer is made. */
  readonly prompt: AnswerPrompt;

  constructor(
    options: OpenAiOptions,
    private readonly model = 'gpt-4o-mini',
    limits: AnswererLimits = {},
    private readonly pii: PiiSettings = {},
    promptVersion?: string,
  ) {
    this.api = client(options);
    this.timeoutMs = options.timeoutMs;
    this.maxTokens = limits.maxTokens ?? ANSWER_MAX_TOKENS;
    this.id = `openai:${model}`;
    this.prompt = answerPrompt(promptVersion);
  }

  /**
   * PII leaves only as the tenant's policy says: `redact` sends placeholders and restores the values in the claims
   * (verification checks claims against the stored text), `block` sends nothing and returns a blocked draft at
   * confidence 0 (review), `allow` sends the text as stored.
   */
  async answer(input: AnswerInput): Promise<DraftAnswer> {
    // A request's own version (an evaluation comparing prompts) over the pinned one; unknown: a typed error.
    const prompt = input.promptVersion === undefined ? this.prompt : answerPrompt(input.promptVersion);
    const notFound: DraftAnswer = { notFound: true, claims: [], confidence: 0, model: this.id };
    const refs = input.context.map((c) => c.ref);
    // Nothing retrieved: nothing to cite, so no model call.
    if (refs.length === 0) return notFound;
    const policy = piiPolicyFor(input.tenantId, this.pii);
    if (policy === 'allow') return this.ask(prompt, input.question, input.context, notFound);
    const redactor = new Redactor();
    const question = redactor.redact(input.question);
    const context = input.context.map((c) => ({
      ...c,
      text: redactor.redact(c.text),
      locator: redactor.redact(c.locator),
      ...(c.sourceName === undefined ? {} : { sourceName: redactor.redact(c.sourceName) }),
    }));
    if (redactor.total() === 0) return this.ask(prompt, input.question, input.context, notFound);
    const redactions = redactor.counts() as Record<string, number>;
    logRedactions(policy, redactions);
    if (policy === 'block') return { ...notFound, malformed: true, blocked: 'PII', redactions };
    const draft = await this.ask(prompt, question, context, notFound);
    return {
      ...draft,
      claims: draft.claims.map((c) => ({ ...c, text: redactor.restore(c.text) })),
      redactions,
    };
  }

  /** One chat request with `prompt` as the system message; every draft it returns records the prompt's version. */
  private async ask(
    prompt: AnswerPrompt,
    question: string,
    contextChunks: ContextChunk[],
    unanswered: DraftAnswer,
  ): Promise<DraftAnswer> {
    const notFound: DraftAnswer = { ...unanswered, promptVersion: prompt.version };
    const refs = contextChunks.map((c) => c.ref);
    const schema = answerSchema(refs as [string, ...string[]]);
    let message: { content?: string | null; refusal?: string | null } | undefined;
    let tokenProbability: number | undefined;
    try {
      const res = await this.api.chat.completions.create(
        {
          model: this.model,
          temperature: 0,
          max_tokens: this.maxTokens,
          stop: ANSWER_STOP,
          // Token log-probabilities are a confidence signal (calibration.ts); servers without them ignore this.
          logprobs: true,
          response_format: {
            type: 'json_schema',
            json_schema: {
              name: 'grounded_answer',
              strict: true,
              schema: answerJsonSchema(refs as [string, ...string[]]),
            },
          },
          messages: [
            { role: 'system', content: prompt.system },
            { role: 'user', content: renderContext(question, contextChunks) },
          ],
        },
        bounded(this.timeoutMs),
      );
      reportModelUsage(res.usage, 'chat'); // for the cost ledger (models/metered.ts)
      message = res.choices[0]?.message;
      tokenProbability = meanTokenProbability(res.choices[0]?.logprobs?.content);
    } catch (err) {
      throw mapOpenAiError(err);
    }
    // Output that is not the agreed answer (a refusal, no content, bad JSON, a cut-off reply, a citation of a chunk
    // it was not given, a "found" answer without claims) becomes a "not found" draft with no confidence:
    // verification sends it to review instead of failing the question or trusting prose.
    const malformed: DraftAnswer = { ...notFound, malformed: true };
    if (!message || message.refusal) return malformed;
    let parsed: z.infer<typeof schema> | undefined;
    try {
      const r = schema.safeParse(JSON.parse(message.content ?? ''));
      parsed = r.success ? r.data : undefined;
    } catch {
      parsed = undefined;
    }
    if (!parsed) return malformed;
    if (parsed.notFound || parsed.claims.length === 0)
      return parsed.notFound
        ? { ...notFound, confidence: parsed.confidence, ...withProbability(tokenProbability) }
        : malformed;
    return {
      notFound: false,
      claims: parsed.claims,
      confidence: parsed.confidence,
      model: this.id,
      promptVersion: prompt.version,
      ...withProbability(tokenProbability),
    };
  }
}

const withProbability = (p: number | undefined): { tokenProbability?: number } =>
  p === undefined ? {} : { tokenProbability: p };

/** exp(mean log-probability) of the reply's tokens: 1 when the model was sure of every token. */
export function meanTokenProbability(tokens: { logprob: number }[] | null | undefined): number | undefined {
  const finite = (tokens ?? []).map((t) => t.logprob).filter((x) => Number.isFinite(x));
  if (finite.length === 0) return undefined;
  return Math.round(Math.exp(finite.reduce((a, b) => a + b, 0) / finite.length) * 10_000) / 10_000;
}
