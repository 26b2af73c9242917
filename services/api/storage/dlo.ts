// Dynamic large objects: an object PUT (or POST) with `X-Object-Manifest: <container>/<prefix>`
// becomes a manifest; a GET or HEAD of it answers with every object of that container whose name
// starts with the prefix, concatenated in listing order, under a quoted ETag (the MD5 of the
// segments' ETags) and the total length. `?multipart-manifest=get` returns the manifest itself.
// Segments are looked up at read time, which is what makes the object "dynamic".
import { createHash } from 'node:crypto';
import { CairnError } from '../../core/errors';
import type { ObjectBackend, ObjectReader } from '../../core/objectstore/backend';
import { decodePath } from './constraints';
import { requireRead } from './container-acl';
import { headerText } from './metadata';
import type { Middleware, StorageDeps, StorageRequest } from './pipeline';
import { type Segment, segmentedReader } from './segments';
import { SYS } from './sysmeta';

/** Segments listed per page while assembling. */
const PAGE = 10_000;

/** `<container>/<prefix>` of a stored manifest value (as the client sent it, %-encoding allowed). */
export function parseManifest(value: string): { container: string; prefix: string } {
  const decoded = decodePath(Buffer.from(value, 'utf8').toString('latin1')).replace(/^\/+/, '');
  const slash = decoded.indexOf('/');
  if (slash <= 0) throw new CairnError('storage.bad_manifest_header');
  return { container: decoded.slice(0, slash), prefix: decoded.slice(slash + 1) };
}

export function dlo(deps: Pick<StorageDeps, 'backend'>): Middleware {
  return {
    name: 'dlo',
    after: ['auth', 'expiry'],
    async handle(req, next) {
      const target = req.target;
      if (!target || target.kind !== 'object') return next();
      const method = req.ctx.method;
      const raw = req.ctx.req.headers['x-object-manifest'];
      if ((method === 'PUT' || method === 'POST') && raw !== undefined) {
        const value = headerText(String(raw).trim());
        if (!value) throw new CairnError('storage.bad_manifest_header');
        parseManifest(value);
        req.sysmeta ??= { set: {}, remove: [] };
        req.sysmeta.set[SYS.dloManifest] = value;
      }
      (req.readers ??= []).push((reader, source) => assemble(req, deps.backend, reader, source.account));
      await next();
    },
  };
}

async function assemble(req: StorageRequest, backend: ObjectBackend, reader: ObjectReader, account: string): Promise<ObjectReader> {
  const manifest = reader.info.meta[SYS.dloManifest];
  if (manifest === undefined || req.ctx.query.get('multipart-manifest') === 'get') return reader;
  const { container, prefix } = parseManifest(manifest);
  // Swift's DLO answers a GET with several ranges with the whole object (200), not multipart.
  const range = req.ctx.req.headers.range;
  if (typeof range === 'string' && range.includes(',')) delete req.ctx.req.headers.range;
  // Segments are read with the caller's rights: a public manifest cannot expose a private container.
  await requireRead(req, backend, account, container);
  const segments: Segment[] = [];
  const md5 = createHash('md5');
  let total = 0;
  let marker: string | undefined;
  // A missing segment container is an empty object, as in Swift.
  if (await backend.headContainer(account, container)) {
    for (;;) {
      const page = await backend.listObjects(account, container, { prefix: prefix || undefined, marker, limit: PAGE });
      for (const e of page) {
        if (e.kind !== 'item') continue;
        segments.push({ account, container, object: e.item.name, length: e.item.bytes, offset: 0 });
        md5.update(e.item.etag);
        total += e.item.bytes;
      }
      if (page.length < PAGE) break;
      const last = page[page.length - 1];
      marker = last.kind === 'item' ? last.item.name : last.subdir;
    }
  }
  await reader.close();
  const info = { ...reader.info, bytes: total, etag: `"${md5.digest('hex')}"` };
  return segmentedReader(backend, info, segments);
}
