// HTTP validation happens before anything reaches Temporal: a client double is enough here.
import { createRoutes } from '../../client/http';
import type { GroundworkClient } from '../../client/groundwork-client';
import { documentIdFromPath } from '../../client/groundwork-client';

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
  await expect(r!.handler(r!.params, async () => ({ question: 'a' }), new URL('http://x/'))).rejects.toMatchObject({ status: 400, code: 'INVALID_INPUT' });
  expect(startAsk).not.toHaveBeenCalled();
});

test('tenant ids that are not safe never match a route', () => {
  expect(route({}, 'GET', "/v1/tenants/a'b/reviews")).toBeUndefined();
  expect(route({}, 'GET', '/v1/tenants/acme/reviews')).toBeDefined();
});

test('an answer id of another tenant is not found', async () => {
  const r = route({}, 'GET', '/v1/tenants/acme/answers/answer%3Aglobex%3Aabc');
  await expect(r!.handler(r!.params, async () => ({}), new URL('http://x/'))).rejects.toMatchObject({ status: 404 });
});

test('document ids default to a safe form of the file name', () => {
  expect(documentIdFromPath('/x/Q3 report (final).pdf')).toBe('Q3-report-final-.pdf');
  expect(documentIdFromPath('handbook.pdf')).toBe('handbook.pdf');
});

