// The container sync pass: for every container whose owner set both `X-Container-Sync-To` and
// `X-Container-Sync-Key`, push what changed since the last pass to the destination over HTTP
// (PUT with the source's Content-Type, metadata, ETag and X-Timestamp; authorized by the key, or
// by a realm signature) and DELETE there what it pushed earlier and the source no longer holds.
// What was pushed lives in the database (container-sync-state.ts), so any backend works and
// objects written at the destination by others are never touched.
// Large objects go as what they are, as Swift syncs them: a DLO as its `X-Object-Manifest`, an
// SLO as its manifest (`?multipart-manifest=put`); their segments travel when their own container
// is synced (the destination refuses an SLO whose segments it lacks yet: retried next pass).
// A container that fails (destination down, 401, 404) is logged and retried at the next pass; it
// never stops the others. Passes do not overlap, in one process or across api replicas (a lease).
import { randomBytes } from 'node:crypto';
import * as http from 'node:http';
import * as https from 'node:https';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Config } from '../../core/config';
import type { Queryable } from '../../core/db/database';
import type { ObjectBackend, ObjectSummary } from '../../core/objectstore/backend';
import { pyQuote, realmSignature, validateSyncTo, type SyncDestination } from './container-sync';
import { SyncState } from './container-sync-state';
import { splitListingOverride } from './listing-override';
import { headerValue, metadataHeaderValue } from './metadata';
import { manifestAsPut } from './slo';
import { SYS, userPart } from './sysmeta';
import { xTimestamp } from './timestamps';

/** Listing page of the source, and rows per query of the delete phase. */
const PAGE = 1000;
/** How long one process holds a container; renewed every page. @default 10 minutes */
const LEASE_MS = 10 * 60 * 1000;
/** A destination silent this long fails the request. @default 60 s */
const REQUEST_TIMEOUT_MS = 60_000;
/** Statuses that condemn one object's push, not the destination: the others stop the container. */
const OBJECT_LEVEL = new Set([400, 409, 411, 412, 413, 422]);

export interface ContainerSyncDeps {
  config: Pick<Config, 'containerSync'>;
  db: Queryable;
  backend: ObjectBackend;
  /** @default console.error */
  log?: (line: string) => void;
}

/** What one pass did, for logs and tests. */
export interface SyncPassReport {
  containers: number;
  puts: number;
  deletes: number;
  /** `<account>/<container>: <reason>` of every container (or object) that failed. */
  failures: string[];
}

class DestinationError extends Error {
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
  }
}

export interface ContainerSync {
  /** Runs one pass now, or joins the one under way. */
  runPass(): Promise<SyncPassReport>;
}

export function createContainerSync(deps: ContainerSyncDeps): ContainerSync {
  const state = new SyncState(deps.db);
  const log = deps.log ?? ((line: string) => console.error(line));
  let current: Promise<SyncPassReport> | undefined;
  return {
    runPass() {
      current ??= pass(deps, state, log).finally(() => {
        current = undefined;
      });
      return current;
    },
  };
}

/** Runs a pass now and then every `intervalSeconds` (none when 0); stop() waits for a pass under way. */
export function startContainerSync(deps: ContainerSyncDeps): { stop(): Promise<void> } {
  const seconds = deps.config.containerSync.intervalSeconds;
  if (seconds === 0) return { stop: async () => undefined };
  const sync = createContainerSync(deps);
  let last: Promise<unknown> = Promise.resolve();
  let stopped = false;
  const tick = (): void => {
    if (stopped) return;
    last = sync.runPass().catch((err: Error) => (deps.log ?? console.error)(`[container-sync] pass failed, retrying at the next tick: ${err.message}`));
  };
  const timer = setInterval(tick, seconds * 1000);
  timer.unref();
  return {
    async stop() {
      stopped = true;
      clearInterval(timer);
      await last;
    },
  };
}

async function pass(deps: ContainerSyncDeps, state: SyncState, log: (line: string) => void): Promise<SyncPassReport> {
  const report: SyncPassReport = { containers: 0, puts: 0, deletes: 0, failures: [] };
  // Unique per pass (the rows compare for equality only, so a clock step back is harmless).
  const passId = Date.now() * 1000 + randomBytes(2).readUInt16BE() % 1000;
  for (const row of await state.containers()) {
    const where = `${row.account}/${row.container}`;
    if (!(await state.claim(row.account, row.container, Date.now() * 1000, LEASE_MS))) continue;
    try {
      await syncContainer(deps, state, row.account, row.container, row.syncTo, passId, report);
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      report.failures.push(`${where}: ${reason}`);
      log(`[container-sync] ${where} failed, retrying at the next pass: ${reason}`);
    } finally {
      await state.release(row.account, row.container).catch(() => undefined);
    }
  }
  return report;
}

async function syncContainer(
  deps: ContainerSyncDeps,
  state: SyncState,
  account: string,
  container: string,
  lastSyncTo: string | null,
  passId: number,
  report: SyncPassReport,
): Promise<void> {
  const info = await deps.backend.headContainer(account, container);
  if (!info) return state.forget(account, container);
  const syncTo = info.meta[SYS.syncTo];
  const key = info.meta[SYS.syncKey];
  if (syncTo === undefined || key === undefined) return;
  // Checked again: the allowed hosts or the realms may have changed since the owner set it.
  const dest = validateSyncTo(syncTo, deps.config.containerSync);
  if (!dest) return;
  report.containers++;
  if (lastSyncTo !== syncTo) await state.retarget(account, container, syncTo);

  const now = Date.now() * 1000;
  let marker = '';
  for (;;) {
    const page = await deps.backend.listObjects(account, container, { marker, limit: PAGE });
    const items = page.flatMap((e) => (e.kind === 'item' ? [e.item] : []));
    if (items.length === 0) break;
    marker = items[items.length - 1].name;
    const pushed = await state.seen(account, container, items.map((o) => o.name), passId);
    for (const o of items) {
      const before = pushed.get(o.name);
      if (before && before.etag === o.etag && before.modifiedUs === o.modifiedAt) continue;
      const done = await pushObject(deps, dest, key, account, container, o, now);
      if (done === 'absent') continue;
      if (done !== 'ok') {
        report.failures.push(`${account}/${container}/${o.name}: ${done}`);
        continue;
      }
      await state.pushed(account, container, o.name, { etag: o.etag, modifiedUs: o.modifiedAt }, passId);
      report.puts++;
    }
    await state.claim(account, container, Date.now() * 1000, LEASE_MS).catch(() => undefined);
  }

  // Every object still at the source is marked seen by now: the rest were deleted there.
  const deleteStamp = xTimestamp(Date.now() * 1000);
  let after = '';
  for (;;) {
    const gone = await state.unseen(account, container, passId, after, PAGE);
    if (gone.length === 0) break;
    after = gone[gone.length - 1];
    for (const name of gone) {
      const status = await send(dest, key, name, 'DELETE', { 'X-Timestamp': deleteStamp });
      // 404: already gone; 409: the destination holds something newer, which stays.
      if (status >= 300 && status !== 404 && status !== 409) throw new DestinationError(`DELETE ${name}: HTTP ${status}`, status);
      await state.dropped(account, container, name);
      report.deletes++;
    }
  }
}

/**
 * PUTs one source object to the destination. 'absent' when it vanished (or expired) at the source
 * since the listing; a reason string when the destination refused this object alone; throws when
 * the destination as a whole failed.
 */
async function pushObject(
  deps: ContainerSyncDeps,
  dest: SyncDestination,
  key: string,
  account: string,
  container: string,
  o: ObjectSummary,
  nowUs: number,
): Promise<'ok' | 'absent' | string> {
  const reader = await deps.backend.openObject(account, container, o.name);
  if (!reader) return 'absent';
  try {
    const { info } = reader;
    const deleteAt = info.meta[SYS.deleteAt];
    // An expired object is gone to Swift's clients; it is not pushed (and is deleted there).
    if (deleteAt !== undefined && Number(deleteAt) * 1e6 <= nowUs) return 'absent';
    const headers: Record<string, string> = {
      'Content-Type': headerValue(splitListingOverride(info.contentType).contentType),
      'X-Timestamp': xTimestamp(info.modifiedAt),
    };
    for (const [name, value] of Object.entries(userPart(info.meta))) headers[`X-Object-Meta-${name}`] = metadataHeaderValue(value);
    if (deleteAt !== undefined) headers['X-Delete-At'] = deleteAt;
    const dlo = info.meta[SYS.dloManifest];
    if (dlo !== undefined) headers['X-Object-Manifest'] = headerValue(dlo);
    let body: Readable;
    let length: number;
    let query = '';
    if (info.meta[SYS.sloEtag] !== undefined) {
      const chunks: Buffer[] = [];
      for await (const chunk of reader.stream()) chunks.push(chunk as Buffer);
      const manifest = manifestAsPut(Buffer.concat(chunks));
      body = Readable.from([manifest]);
      length = manifest.length;
      query = '?multipart-manifest=put';
    } else {
      headers.ETag = info.etag;
      body = reader.stream();
      length = info.bytes;
    }
    headers['Content-Length'] = String(length);
    const status = await send(dest, key, o.name, 'PUT', headers, body, query);
    // 202: the destination holds a newer version, which wins; nothing left to push.
    if (status < 300) return 'ok';
    if (OBJECT_LEVEL.has(status)) return `PUT refused: HTTP ${status}`;
    throw new DestinationError(`PUT ${o.name}: HTTP ${status}`, status);
  } finally {
    await reader.close();
  }
}

/** One request to the destination with the sync credential; the status (the body is drained). */
function send(dest: SyncDestination, key: string, name: string, method: string, headers: Record<string, string>, body?: Readable, query = ''): Promise<number> {
  const base = new URL(dest.url);
  const path = `${base.pathname}/${pyQuote(name)}`;
  const out = { ...headers };
  if (dest.realm) {
    const nonce = randomBytes(16).toString('hex');
    const sig = realmSignature(method, path, out['X-Timestamp'] ?? '0', nonce, dest.realm.key, key);
    out['X-Container-Sync-Auth'] = `${dest.realm.name} ${nonce} ${sig}`;
  } else {
    out['X-Container-Sync-Key'] = headerValue(key);
  }
  if (!body) out['Content-Length'] = '0';
  const lib = base.protocol === 'https:' ? https : http;
  return new Promise<number>((resolve, reject) => {
    const req = lib.request({ method, protocol: base.protocol, hostname: base.hostname.replace(/^\[(.*)\]$/, '$1'), port: base.port, path: `${path}${query}`, headers: out }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
      res.on('error', reject);
    });
    req.setTimeout(REQUEST_TIMEOUT_MS, () => req.destroy(new DestinationError(`${method} ${name}: no answer in ${REQUEST_TIMEOUT_MS / 1000} s`)));
    req.on('error', (err) => reject(new DestinationError(`${method} ${name}: ${err.message}`)));
    if (body) pipeline(body, req).catch((err: Error) => req.destroy(err));
    else req.end();
  });
}
