// Spans around model calls (model.embed, model.answer) when tracing is on: the model, counts and outcome, never a
// question, a chunk's text, an answer or a vector.
import type { Attributes } from '@opentelemetry/api';
import { inSpan } from '../../common/tracing';
import type { AnswerInput, Answerer, DraftAnswer, EmbedOptions, Embedder } from './types';

/** The embedder with a model.embed span per call; `id` and `dimensions` are the inner embedder's. */
export function tracedEmbedder(inner: Embedder): Embedder {
  return withMethod(inner, 'embed', (texts: string[], options?: EmbedOptions) =>
    inSpan(
      'model.embed',
      {
        'model.id': inner.id,
        'model.dimensions': inner.dimensions,
        'model.embed_kind': options?.kind ?? 'passage',
        'model.texts': texts.length,
        'model.input_chars': texts.reduce((n, t) => n + t.length, 0),
      },
      async (span) => {
        const vectors = await inner.embed(texts, options);
        span.setAttribute('model.vectors', vectors.length);
        return vectors;
      },
    ),
  );
}

/** The answerer with a model.answer span per call. */
export function tracedAnswerer(inner: Answerer): Answerer {
  return withMethod(inner, 'answer', (input: AnswerInput) =>
    inSpan(
      'model.answer',
      {
        'model.id': inner.id,
        'model.context_chunks': input.context.length,
        'model.question_chars': input.question.length,
        ...(input.promptVersion ? { 'model.prompt_version': input.promptVersion } : {}),
      },
      async (span) => {
        const draft = await inner.answer(input);
        span.setAttributes(draftAttributes(draft));
        return draft;
      },
    ),
  );
}

function draftAttributes(d: DraftAnswer): Attributes {
  const a: Attributes = {
    'model.response_model': d.model,
    'model.claims': d.claims.length,
    'model.not_found': d.notFound,
    'model.confidence': d.confidence,
  };
  if (d.promptVersion) a['model.prompt_version'] = d.promptVersion;
  if (d.malformed) a['model.malformed'] = true;
  if (d.blocked) a['model.blocked'] = d.blocked;
  if (d.redactions) a['model.redactions'] = Object.values(d.redactions).reduce((n, c) => n + c, 0);
  return a;
}

/**
 * `inner` with one method replaced; every other member (including ones added to the interface later) is the inner
 * object's, with methods bound to it so private fields keep working.
 */
export function withMethod<T extends object, K extends keyof T>(inner: T, name: K, method: T[K]): T {
  return new Proxy(inner, {
    get(target, prop) {
      if (prop === name) return method;
      const value: unknown = Reflect.get(target, prop, target);
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}
