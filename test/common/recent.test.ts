// recentPromises: one load per kept key, failed loads forgotten, the oldest key dropped past the limit.
import { recentPromises } from '../../common/recent';

test('a kept key is loaded once, a failed load is tried again, and the key added first goes past the limit', async () => {
  const loads: string[] = [];
  const get = recentPromises<string>(2);
  const load =
    (key: string, fail = false) =>
    () => {
      loads.push(key);
      return fail ? Promise.reject(new Error(`no ${key}`)) : Promise.resolve(key.toUpperCase());
    };
  expect(await get('a', load('a'))).toBe('A');
  expect(await get('a', load('a'))).toBe('A');
  expect(loads).toEqual(['a']);

  await expect(get('b', load('b', true))).rejects.toThrow('no b');
  expect(await get('b', load('b'))).toBe('B');
  expect(loads).toEqual(['a', 'b', 'b']);

  expect(await get('c', load('c'))).toBe('C'); // a goes: added first
  expect(await get('b', load('b'))).toBe('B');
  expect(await get('a', load('a'))).toBe('A');
  expect(loads).toEqual(['a', 'b', 'b', 'c', 'a']);
});

test('a failed load that was already dropped does not remove the entry that replaced it', async () => {
  const get = recentPromises<string>(1);
  let fail!: (err: Error) => void;
  const first = get('k', () => new Promise<string>((_, reject) => (fail = reject)));
  await get('other', () => Promise.resolve('x')); // drops k
  const second = get('k', () => Promise.resolve('fresh'));
  fail(new Error('late failure'));
  await expect(first).rejects.toThrow('late failure');
  let loaded = false;
  expect(
    await get('k', () => {
      loaded = true;
      return Promise.resolve('again');
    }),
  ).toBe('fresh');
  expect(loaded).toBe(false);
  await second;
});
