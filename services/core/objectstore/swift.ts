// The `swift` backend: Cairn's accounts, containers and objects live in a real OpenStack Swift,
// reached with one reseller-admin credential (swift-client.ts). Swift's model is Cairn's, so most
// calls are one upstream request; what this module adds:
// - names: account mapping and metadata encoding in swift-names.ts (reversible, collision-free, and
//   never a header an upstream middleware acts on — Cairn's own middlewares own those semantics);
// - uploads: the body is streamed through a meter that counts, enforces maxBytes and the declared
//   length, checks the MD5 of chunked bodies against the client's ETag, and holds back the last
//   chunk until all of that passed; any refusal destroys the upstream connection before the body is
//   complete, so Swift never commits it. The ETag is also sent upstream, which checks it again.
//   After the PUT, object and container are read back: the first gives the exact timestamp, the
//   second catches a container deleted mid-upload. Swift stores such an object and its row revives
//   the container, but without metadata; Cairn marks every container it creates (CONTAINER_MARK),
//   so a container without the mark refuses the upload (the object is deleted again). Hence the
//   upstream accounts belong to Cairn: a container made around it is adopted by one Cairn PUT;
// - `updateObject` with `keep` reads the current metadata and POSTs the merge: a POST or PUT landing
//   between the two is overwritten or gets stale kept values (Swift's POST has no condition);
// - readers: `openObject` starts the GET at once, and the first whole-object `stream()` reads that
//   answer, i.e. the file the object server opened: the version opened, even if overwritten or
//   deleted since. Other streams (ranges, a second whole read) are new GETs with `If-Match: <etag>`:
//   they return the opened content or fail (`unavailable`), never another version's bytes;
// - counts: a container's are Swift's (kept synchronously); an account's object and byte totals lag
//   in Swift (its container-updater), so small accounts sum their containers' counts instead;
// - timestamps: objects and accounts carry `X-Timestamp` (µs); a container's `modifiedAt` is its
//   `Last-Modified` (whole seconds: Swift does not expose the PUT timestamp more precisely);
// - errors: Swift statuses map to the `storage.*` codes; 5xx, connection failures and refused
//   credentials are `storage.upstream_unavailable` (503), other unexpected 4xx (e.g. Swift's own
//   metadata limits, applied to the encoded form) `storage.upstream_refused`.
import { PassThrough, type Readable } from 'node:stream';
import { CairnError } from '../errors';
import type {
  AccountInfo,
  ByteRange,
  ContainerInfo,
  ContainerSummary,
  ListEntry,
  ListOptions,
  MetadataUpdate,
  ObjectBackend,
  ObjectInfo,
  ObjectReader,
  ObjectSummary,
  ObjectUpdate,
  PutObjectOptions,
} from './backend';
import { drain, SwiftClient, type SwiftAuthSettings, type UpstreamRequest, type UpstreamResponse } from './swift-client';
import { CONTAINER_MARK, decodeContentType, encodeContentType, metaFromHeaders, metaHeaders, upstreamAccount } from './swift-names';
import { containerInfo, expectOk, httpDateMicros, int, isoMicros, listingRows, listQuery, micros, objectInfo, unquote } from './swift-responses';
import { UploadMeter } from './swift-upload';
import { nowMicros } from './timestamp';

/**
 * Up to this many containers, an account's object and byte totals are summed from its containers:
 * Swift's own account totals lag (its container-updater reports them in the background), while
 * Cairn's contract, like the fs backend, gives exact counts. Larger accounts report Swift's totals.
 */
const EXACT_ACCOUNT_MAX_CONTAINERS = 100;

/** Unread object bodies up to this size are drained rather than cut off (see openObject). */
const DRAIN_UNREAD_MAX_BYTES = 64 * 1024;

export interface SwiftBackendSettings extends SwiftAuthSettings {
  /** Prefix of upstream account names. */
  accountPrefix: string;
}

export class SwiftBackend implements ObjectBackend {
  readonly kind = 'swift';
  private readonly client: SwiftClient;

  constructor(private readonly settings: SwiftBackendSettings) {
    this.client = new SwiftClient(settings);
  }

  private request(account: string, r: Omit<UpstreamRequest, 'account'>): Promise<UpstreamResponse> {
    return this.client.request({ ...r, account: upstreamAccount(this.settings.accountPrefix, account) });
  }

  async headAccount(account: string): Promise<AccountInfo> {
    const res = await this.request(account, { method: 'HEAD' });
    await drain(res.body);
    if (res.status === 404) return { name: account, containerCount: 0, objectCount: 0, bytesUsed: 0, createdAt: nowMicros(), meta: {} };
    await expectOk(res, 'HEAD account');
    const h = res.headers;
    const info: AccountInfo = {
      name: account,
      containerCount: int(h['x-account-container-count']),
      objectCount: int(h['x-account-object-count']),
      bytesUsed: int(h['x-account-bytes-used']),
      createdAt: micros(h['x-timestamp']),
      meta: metaFromHeaders('account', h),
    };
    if (info.containerCount > 0 && info.containerCount <= EXACT_ACCOUNT_MAX_CONTAINERS) Object.assign(info, await this.sumContainers(account));
    return info;
  }

  /** Object and byte totals from each container's own (synchronously kept) counts. */
  private async sumContainers(account: string): Promise<{ objectCount: number; bytesUsed: number }> {
    const listed = await this.listContainers(account, { limit: EXACT_ACCOUNT_MAX_CONTAINERS });
    const names = listed.flatMap((e) => (e.kind === 'item' ? [e.item.name] : []));
    let objectCount = 0;
    let bytesUsed = 0;
    for (let i = 0; i < names.length; i += 8) {
      const heads = await Promise.all(names.slice(i, i + 8).map((n) => this.headContainer(account, n)));
      for (const c of heads) {
        objectCount += c?.objectCount ?? 0;
        bytesUsed += c?.bytesUsed ?? 0;
      }
    }
    return { objectCount, bytesUsed };
  }

  async updateAccount(account: string, update: MetadataUpdate): Promise<AccountInfo> {
    const res = await this.request(account, { method: 'POST', headers: { ...metaHeaders('account', update.set, update.remove), 'content-length': '0' } });
    await expectOk(res, 'POST account');
    return this.headAccount(account);
  }

  async listContainers(account: string, opts: ListOptions): Promise<ListEntry<ContainerSummary>[]> {
    const res = await this.request(account, { method: 'GET', query: listQuery(opts) });
    if (res.status === 404) return (await drain(res.body), []);
    const rows = await listingRows(res, 'GET account');
    return rows.map((r) =>
      'subdir' in r
        ? { kind: 'subdir', subdir: String(r.subdir) }
        : { kind: 'item', item: { name: String(r.name), objectCount: Number(r.count), bytesUsed: Number(r.bytes), modifiedAt: isoMicros(r.last_modified) } },
    );
  }

  async putContainer(account: string, container: string, update: MetadataUpdate): Promise<{ created: boolean; info: ContainerInfo }> {
    const headers = { ...metaHeaders('container', update.set, update.remove), [CONTAINER_MARK]: '1', 'content-length': '0' };
    const res = await this.request(account, { method: 'PUT', container, headers });
    await expectOk(res, 'PUT container');
    const info = await this.headContainer(account, container);
    if (!info) throw new CairnError('storage.container_not_found'); // deleted concurrently
    return { created: res.status === 201, info };
  }

  async headContainer(account: string, container: string): Promise<ContainerInfo | undefined> {
    return (await this.probeContainer(account, container))?.info;
  }

  /** The container's info, and whether it carries the mark of a container Cairn created. */
  private async probeContainer(account: string, container: string): Promise<{ info: ContainerInfo; marked: boolean } | undefined> {
    const res = await this.request(account, { method: 'HEAD', container });
    await drain(res.body);
    if (res.status === 404) return undefined;
    await expectOk(res, 'HEAD container');
    const h = res.headers;
    return { info: containerInfo(container, h), marked: h[CONTAINER_MARK] !== undefined };
  }


  async updateContainer(account: string, container: string, update: MetadataUpdate): Promise<ContainerInfo> {
    const res = await this.request(account, { method: 'POST', container, headers: { ...metaHeaders('container', update.set, update.remove), 'content-length': '0' } });
    if (res.status === 404) throw (await drain(res.body), new CairnError('storage.container_not_found'));
    await expectOk(res, 'POST container');
    const info = await this.headContainer(account, container);
    if (!info) throw new CairnError('storage.container_not_found');
    return info;
  }

  async deleteContainer(account: string, container: string): Promise<void> {
    const res = await this.request(account, { method: 'DELETE', container });
    await drain(res.body);
    if (res.status === 404) throw new CairnError('storage.container_not_found');
    if (res.status === 409) throw new CairnError('storage.container_not_empty');
    await expectOk(res, 'DELETE container');
  }

  async listObjects(account: string, container: string, opts: ListOptions): Promise<ListEntry<ObjectSummary>[]> {
    const res = await this.request(account, { method: 'GET', container, query: listQuery(opts) });
    if (res.status === 404) throw (await drain(res.body), new CairnError('storage.container_not_found'));
    const rows = await listingRows(res, 'GET container');
    return rows.map((r) =>
      'subdir' in r
        ? { kind: 'subdir', subdir: String(r.subdir) }
        : {
            kind: 'item',
            item: { name: String(r.name), bytes: Number(r.bytes), etag: String(r.hash), contentType: decodeContentType(String(r.content_type)), modifiedAt: isoMicros(r.last_modified) },
          },
    );
  }

  async putObject(account: string, container: string, object: string, body: Readable, opts: PutObjectOptions): Promise<ObjectInfo> {
    if (opts.contentLength !== undefined && opts.contentLength > opts.maxBytes) throw new CairnError('storage.too_large');
    const headers: Record<string, string> = { ...metaHeaders('object', opts.meta), 'content-type': encodeContentType(opts.contentType) };
    if (opts.contentLength !== undefined) headers['content-length'] = String(opts.contentLength);
    else headers['transfer-encoding'] = 'chunked';
    if (opts.expectedEtag !== undefined) headers.etag = opts.expectedEtag.toLowerCase();
    if (opts.ifNoneMatchAny) headers['if-none-match'] = '*';
    const meter = new UploadMeter(opts);
    const res = await this.request(account, { method: 'PUT', container, object, headers, body: { source: body, through: meter } });
    await expectOk(res, 'PUT object').catch((err: unknown) => {
      if (![404, 412, 422, 413].includes(res.status)) throw err;
    });
    switch (res.status) {
      case 201:
      // A concurrent PUT with a newer timestamp was there first: Swift drops ours as already
      // superseded, which is last-writer-wins as a reader sees it.
      case 202:
        break;
      case 404:
        throw new CairnError('storage.container_not_found');
      case 412:
        throw new CairnError('storage.precondition_failed');
      case 422:
        throw new CairnError('storage.etag_mismatch');
      case 413:
        throw new CairnError('storage.too_large');
      default:
        throw new CairnError('storage.upstream_refused', { reason: `PUT object: unexpected ${res.status}` });
    }
    const [info, probe] = await Promise.all([this.headObject(account, container, object), this.probeContainer(account, container)]);
    if (!probe?.marked) {
      // The container was deleted during the upload. Swift then stores the object anyway and its
      // row revives the container, without metadata (a delete clears it), hence without the mark.
      // Cairn refuses the upload; removing the object lets the container fall back to deleted.
      await this.deleteObject(account, container, object).catch(() => undefined);
      throw new CairnError('storage.container_not_found');
    }
    const etag = unquote(res.headers.etag) ?? meter.etag ?? '';
    return info && info.etag === etag
      ? info // else overwritten or deleted already: describe what this PUT stored
      : { name: object, bytes: meter.bytes, etag, contentType: opts.contentType, modifiedAt: httpDateMicros(res.headers['last-modified']), meta: opts.meta };
  }

  async headObject(account: string, container: string, object: string): Promise<ObjectInfo | undefined> {
    const res = await this.request(account, { method: 'HEAD', container, object });
    await drain(res.body);
    if (res.status === 404) return undefined;
    await expectOk(res, 'HEAD object');
    return objectInfo(object, res.headers);
  }

  async openObject(account: string, container: string, object: string): Promise<ObjectReader | undefined> {
    const res = await this.request(account, { method: 'GET', container, object });
    if (res.status === 404) return (await drain(res.body), undefined);
    if (res.status !== 200) {
      await expectOk(res, 'GET object');
      throw new CairnError('storage.upstream_refused', { reason: `GET object: unexpected ${res.status}` });
    }
    const info = objectInfo(object, res.headers);
    let opened: Readable | undefined = res.body;
    const open = new Set<Readable>([res.body]);
    const take = (): Readable | undefined => {
      const r = opened;
      opened = undefined;
      return r;
    };
    // An unread answer (a HEAD served from the reader, a range asked instead) is read to its end
    // when small, which keeps the keep-alive connection, and cut off otherwise.
    const release = (body: Readable | undefined): void => {
      if (!body) return;
      open.delete(body);
      if (info.bytes <= DRAIN_UNREAD_MAX_BYTES) body.on('error', () => undefined).resume();
      else body.destroy();
    };
    return {
      info,
      stream: (range?: ByteRange) => {
        const whole = range === undefined || (range.start === 0 && range.end >= info.bytes - 1);
        const first = take();
        if (whole && first) return first;
        release(first);
        const out = new PassThrough();
        open.add(out);
        const r = range ?? { start: 0, end: Math.max(0, info.bytes - 1) };
        this.request(account, { method: 'GET', container, object, headers: { range: `bytes=${r.start}-${r.end}`, 'if-match': info.etag } }).then(
          async (ranged) => {
            // 200 is the whole object: right only when the range asked for all of it.
            if (ranged.status === 206 || (ranged.status === 200 && r.start === 0 && r.end >= info.bytes - 1)) {
              ranged.body.on('error', (err) => out.destroy(err));
              ranged.body.pipe(out);
              out.once('close', () => ranged.body.destroy());
              return;
            }
            await drain(ranged.body);
            out.destroy(
              ranged.status === 416
                ? new CairnError('storage.range_not_satisfiable')
                : ranged.status === 404 || ranged.status === 412
                  ? new CairnError('unavailable', { reason: `Object ${container}/${object} changed while being read; retry.` })
                  : new CairnError('storage.upstream_unavailable', { reason: `ranged GET object: ${ranged.status}` }),
            );
          },
          (err: unknown) => out.destroy(err as Error),
        );
        return out;
      },
      close: async () => {
        release(take());
        for (const s of open) if (!s.readableEnded) s.destroy();
        open.clear();
      },
    };
  }

  async updateObject(account: string, container: string, object: string, change: ObjectUpdate): Promise<ObjectInfo> {
    let meta = change.meta;
    if (change.keep?.length) {
      const current = await this.headObject(account, container, object);
      if (!current) throw new CairnError('storage.object_not_found');
      meta = { ...meta };
      for (const name of change.keep) if (!(name in meta) && name in current.meta) meta[name] = current.meta[name];
    }
    const headers: Record<string, string> = { ...metaHeaders('object', meta), 'content-length': '0' };
    if (change.contentType !== undefined) headers['content-type'] = encodeContentType(change.contentType);
    const res = await this.request(account, { method: 'POST', container, object, headers });
    await drain(res.body);
    if (res.status === 404) throw new CairnError('storage.object_not_found');
    await expectOk(res, 'POST object');
    const info = await this.headObject(account, container, object);
    if (!info) throw new CairnError('storage.object_not_found');
    return info;
  }

  async deleteObject(account: string, container: string, object: string): Promise<void> {
    const res = await this.request(account, { method: 'DELETE', container, object });
    await drain(res.body);
    if (res.status === 404) throw new CairnError('storage.object_not_found');
    await expectOk(res, 'DELETE object');
  }

  async close(): Promise<void> {
    this.client.close();
  }
}
