// How runs get an object's bytes (services/api/storage/run-input.ts): on the fs backend the opened
// version's own file is linked into the job directory (no copy, and it stays that version while
// PUTs and DELETEs replace it); readers without a local file, or with the hand-off turned off,
// take the streaming path. Real fs backend on PGlite, real files.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { stageObject, stageRanges, useFileHandOff } from '../../../../services/api/storage/run-input';
import type { ObjectReader } from '../../../../services/core/objectstore/backend';
import { PROJECT_A, startStorage, type StorageHarness } from './harness';

let h: StorageHarness;
let account = '';
let work = '';

beforeAll(async () => {
  h = await startStorage();
  account = `AUTH_${PROJECT_A}`;
  await h.backend.putContainer(account, 'c', { set: {}, remove: [] });
  work = fs.mkdtempSync(path.join(h.dataDir, 'work-'));
});
afterAll(() => h.stop());

async function put(name: string, data: string): Promise<void> {
  await h.backend.putObject(account, 'c', name, Readable.from([Buffer.from(data)]), { contentType: 'text/plain', meta: {}, contentLength: data.length, maxBytes: 1 << 20 });
}

async function open(name: string): Promise<ObjectReader> {
  const reader = await h.backend.openObject(account, 'c', name);
  if (!reader) throw new Error(`${name} not found`);
  return reader;
}

/** The same reader as a backend without local files (swift, s3) hands out. */
function withoutFile(reader: ObjectReader): ObjectReader {
  return { info: reader.info, stream: (r) => reader.stream(r), close: () => reader.close() };
}

const dest = (name: string) => path.join(work, name);

test('fs: the opened version is linked, not copied, and survives a later PUT and DELETE', async () => {
  await put('a.txt', 'version one');
  const reader = await open('a.txt');
  try {
    expect(reader.file).toBeDefined();
    expect(await stageObject(reader, dest('a'))).toBe('linked');
    const file = reader.file!();
    expect(fs.statSync(dest('a')).ino).toBe(fs.fstatSync(file.fd).ino);
    expect(fs.statSync(dest('a')).nlink).toBe(2);
  } finally {
    await reader.close();
  }
  await put('a.txt', 'version two, longer');
  await h.backend.deleteObject(account, 'c', 'a.txt');
  expect(fs.readFileSync(dest('a'), 'utf8')).toBe('version one');
  expect(fs.statSync(dest('a')).nlink).toBe(1);
});

test('fs: ranges are left for the sandbox to apply on the whole file', async () => {
  await put('r.txt', 'hello world');
  const reader = await open('r.txt');
  try {
    const staged = await stageRanges(reader, [{ start: 0, end: 1 }, { start: 6, end: 10 }], dest('r'));
    expect(staged).toEqual({ how: 'linked', apply: [{ start: 0, end: 1 }, { start: 6, end: 10 }] });
    expect(fs.readFileSync(dest('r'), 'utf8')).toBe('hello world');
  } finally {
    await reader.close();
  }
});

test('a reader without a local file: bytes are streamed, ranges cut on the way', async () => {
  await put('s.txt', 'hello world');
  const reader = await open('s.txt');
  try {
    expect(await stageObject(withoutFile(reader), dest('s'))).toBe('copied');
    expect(fs.readFileSync(dest('s'), 'utf8')).toBe('hello world');
    expect(fs.statSync(dest('s')).nlink).toBe(1);
    expect(await stageRanges(withoutFile(reader), [{ start: 0, end: 1 }, { start: 6, end: 10 }], dest('s2'))).toEqual({ how: 'copied' });
    expect(fs.readFileSync(dest('s2'), 'utf8')).toBe('heworld');
  } finally {
    await reader.close();
  }
});

test('with the hand-off turned off the fs backend streams too; a vanished file falls back to streaming', async () => {
  await put('o.txt', 'off');
  const reader = await open('o.txt');
  try {
    useFileHandOff(false);
    expect(await stageObject(reader, dest('o'))).toBe('copied');
  } finally {
    useFileHandOff(true);
  }
  try {
    // Replaced and deleted after it was opened: no name to link, the open descriptor still reads it.
    await put('o.txt', 'newer');
    await h.backend.deleteObject(account, 'c', 'o.txt');
    expect(await stageObject(reader, dest('o2'))).toBe('copied');
    expect(fs.readFileSync(dest('o2'), 'utf8')).toBe('off');
  } finally {
    await reader.close();
  }
});
