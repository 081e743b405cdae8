import { pointId, uuidV5 } from '../../activities/vectors/ids';

test('point ids are deterministic RFC 4122 version-5 UUIDs', () => {
  const id = pointId('acme', 'doc.pdf', 'abc', 3);
  expect(id).toBe(pointId('acme', 'doc.pdf', 'abc', 3));
  expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
});

test('any differing part gives a different id, and parts cannot run into each other', () => {
  const ids = new Set([
    pointId('acme', 'doc', 'v1', 0),
    pointId('acme2', 'doc', 'v1', 0),
    pointId('acme', 'doc2', 'v1', 0),
    pointId('acme', 'doc', 'v2', 0),
    pointId('acme', 'doc', 'v1', 1),
    pointId('a|b', 'c', 'v', 0),
    pointId('a', 'b|c', 'v', 0),
  ]);
  expect(ids.size).toBe(7);
});

test('uuidV5 matches the RFC 4122 reference value for the DNS namespace', () => {
  expect(uuidV5('www.example.com', '6ba7b810-9dad-11d1-80b4-00c04fd430c8')).toBe(
    '2ed6657d-e927-568b-95e1-2665a8aea6a2',
  );
});
