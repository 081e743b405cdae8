// HTTP validation happens before anything reaches Temporal: a client double is enough here.
import { createRoutes, statusForCode } from '../../client/http';
import type { GroundworkClient } from '../../client/groundwork-client';
import { ClientInputError } from '../../client/groundwork-client';
import { documentIdFromName } from '../../common/ids';
import type { ReviewOutcome } from '../../workflows/definitions';

function route(client: Partial<GroundworkClient>, method: string, path: string) {
  for (const r of createRoutes(client as GroundworkClient)) {
    const m = r.pattern.exec(path);
    if (m && r.method === method) return { handler: r.handler, params: m.slice(1) };
  }
  return undefined;
}

test('a question that is too short is refused with INVALID_INPUT before reaching Temporal', async () => {
  const startAsk = jest.fn();
  const r = route({ startAsk }, 'POST', '/v1/tenants/acme/questions');
  await expect(r!.handler(r!.params, async () => ({ question: 'a' }), new URL('http://x/'))).rejects.toMatchObject({
    status: 400,
    code: 'INVALID_INPUT',
  });
  expect(startAsk).not.toHaveBeenCalled();
});

test('tenant ids that are not safe never match a route', () => {
  expect(route({}, 'GET', "/v1/tenants/a'b/reviews")).toBeUndefined();
  expect(route({}, 'GET', '/v1/tenants/-acme/reviews')).toBeUndefined();
  expect(route({}, 'GET', `/v1/tenants/${'a'.repeat(129)}/reviews`)).toBeUndefined();
  expect(route({}, 'GET', '/v1/tenants/acme/reviews')).toBeDefined();
  expect(route({}, 'GET', `/v1/tenants/${'a'.repeat(128)}/reviews`)).toBeDefined();
});

test('an answer id of another tenant is not found', async () => {
  const r = route({}, 'GET', '/v1/tenants/acme/answers/answer%3Aglobex%3Aabc');
  await expect(r!.handler(r!.params, async () => ({}), new URL('http://x/'))).rejects.toMatchObject({ status: 404 });
});

test('document ids default to a safe form of the file name', () => {
  expect(documentIdFromName('/x/Q3 report (final).pdf')).toBe('Q3-report-final-.pdf');
  expect(documentIdFromName('handbook.pdf')).toBe('handbook.pdf');
});

const outcome: ReviewOutcome = {
  decision: 'approved',
  reviewerId: 'dana',
  answer: 'Yes.',
  citations: [],
  decidedAt: '2026-01-01T00:00:00.000Z',
};

test('a review decision answers 200 with the outcome the task recorded', async () => {
  const approve = jest.fn(async () => outcome);
  const r = route({ approve }, 'POST', '/v1/tenants/acme/reviews/review%3Aacme%3Ak1/approve');
  await expect(
    r!.handler(r!.params, async () => ({ reviewerId: 'dana', note: 'fine' }), new URL('http://x/')),
  ).resolves.toEqual([200, outcome]);
  expect(approve).toHaveBeenCalledWith('acme', 'review:acme:k1', 'dana', 'fine');
});

test('edit and reject pass the decision through; a body without a reviewer is refused before Temporal', async () => {
  const edit = jest.fn(async () => ({ ...outcome, decision: 'edited' as const }));
  const reject = jest.fn(async () => ({ ...outcome, decision: 'rejected' as const }));
  const e = route({ edit }, 'POST', '/v1/tenants/acme/reviews/t1/edit');
  const body = { reviewerId: 'dana', answer: 'Better.', citations: [{ chunkId: 'c1' }] };
  await expect(e!.handler(e!.params, async () => body, new URL('http://x/'))).resolves.toMatchObject([
    200,
    { decision: 'edited' },
  ]);
  expect(edit).toHaveBeenCalledWith('acme', 't1', body);
  const j = route({ reject }, 'POST', '/v1/tenants/acme/reviews/t1/reject');
  await expect(j!.handler(j!.params, async () => ({ reason: 'wrong' }), new URL('http://x/'))).rejects.toMatchObject({
    status: 400,
    code: 'INVALID_INPUT',
  });
  expect(reject).not.toHaveBeenCalled();
});

test('refusals map to HTTP statuses: closed 409, not found 404, anything else 400', async () => {
  expect(statusForCode('REVIEW_CLOSED')).toBe(409);
  expect(statusForCode('REVIEW_NOT_FOUND')).toBe(404);
  expect(statusForCode('CITATION_NOT_RETRIEVED')).toBe(400);
  expect(statusForCode('INVALID_INPUT')).toBe(400);
  const approve = jest.fn(async () =>
    Promise.reject(new ClientInputError('REVIEW_CLOSED', 'The review task is already approved.')),
  );
  const r = route({ approve }, 'POST', '/v1/tenants/acme/reviews/t1/approve');
  await expect(r!.handler(r!.params, async () => ({ reviewerId: 'dana' }), new URL('http://x/'))).rejects.toMatchObject(
    { code: 'REVIEW_CLOSED' },
  );
});
