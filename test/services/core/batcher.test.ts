import { Batcher } from '../../../services/core/batcher';

test('a lone item is flushed at once; items arriving during a flush go together in the next', async () => {
  const batches: number[][] = [];
  let release: () => void = () => undefined;
  const b = new Batcher<number, number>(async (items) => {
    batches.push(items);
    if (batches.length === 1) await new Promise<void>((r) => (release = r));
    return items.map((i) => i * 10);
  });
  const first = b.submit(1);
  const rest = [b.submit(2), b.submit(3), b.submit(4)];
  release();
  expect(await first).toBe(10);
  expect(await Promise.all(rest)).toEqual([20, 30, 40]);
  expect(batches).toEqual([[1], [2, 3, 4]]);
});

test('a failed flush rejects its own items only', async () => {
  const b = new Batcher<number, number>(async (items) => {
    if (items.includes(13)) throw new Error('unlucky');
    return items;
  });
  await expect(b.submit(13)).rejects.toThrow('unlucky');
  expect(await b.submit(7)).toBe(7);
});

test('batches are capped', async () => {
  const sizes: number[] = [];
  let release: () => void = () => undefined;
  const b = new Batcher<number, number>(async (items) => {
    sizes.push(items.length);
    if (sizes.length === 1) await new Promise<void>((r) => (release = r));
    return items;
  }, 2);
  const all = [b.submit(0), b.submit(1), b.submit(2), b.submit(3), b.submit(4)];
  release();
  await Promise.all(all);
  expect(sizes).toEqual([1, 2, 2]);
});
