'use strict';
// Runs one Node.js storlet (Cairn's counterpart of openstack/storlets' Python interface) inside a
// Cairn sandbox, one call per sandbox. The host hands everything over as files, exactly as for
// shim.py: the object's data on fd 0 (limited to the ranges in /dev/storlet/range when that file
// exists), its user metadata as JSON in /dev/storlet/meta-in, the parameters in
// /dev/storlet/params, extra resources as /dev/storlet/in-<n> with in-<n>.meta; the output data
// goes to /dev/storlet/out, its metadata (set before any data) to /dev/storlet/meta-out, log
// lines to /dev/storlet/log. Console output goes to stderr so it cannot corrupt the output.
//
// The storlet is `/storlet/<module>.js` (CommonJS); X-Object-Meta-Storlet-Main names
// `<module>.<export>`. A class export (one with an `invoke` method) is constructed with the
// logger and then `invoke(inFiles, outFiles, params)` is called; any other function export is
// called as `fn(inFiles, outFiles, params, logger)`. Either may return a promise. An output the
// storlet left open (e.g. `inFiles[0].pipe(out)` without awaiting it) is ended once nothing else
// is pending, so piping needs no bookkeeping and forgetting end() does not hang. Exit codes: 0 done, 1 the storlet threw, 3 it never
// set the output metadata.
//
// Usage: node shim.js <module.Export>
//
// Serving mode (warm workers, services/executor/runs/storlet-workers.ts): `node shim.js --serve
// <module.Export>` serves one call at a time over fd 3, a socket, with shim.py's protocol: a JSON
// line per call naming files in the read-only inbox, frames back (M metadata, D data, L log,
// E stderr, X end {"code"}). The module is required once; module state lives as long as the
// worker (one storlet version of one account). Between calls /tmp is emptied and strays killed.
const fs = require('node:fs');
const net = require('node:net');
const path = require('node:path');
const { PassThrough, Writable } = require('node:stream');

const DEV = '/dev/storlet';
const CODE_DIR = '/storlet';
/** Storlets' limit on the serialized output metadata. */
const MAX_METADATA_BYTES = 4096;
const EXIT_RAISED = 1;
const EXIT_NO_METADATA = 3;
const CHUNK = 256 * 1024;

function readJson(file, fallback) {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch {
    return fallback;
  }
}

/** One line per message in the log file, as the Python logger writes them. */
class StorletLogger {
  constructor(fd) {
    this.fd = fd;
  }
  emit(level, msg) {
    fs.writeSync(this.fd, `${level} ${msg}\n`);
  }
  debug(msg) {
    this.emit('DEBUG', msg);
  }
  info(msg) {
    this.emit('INFO', msg);
  }
  warn(msg) {
    this.emit('WARNING', msg);
  }
  warning(msg) {
    this.emit('WARNING', msg);
  }
  error(msg) {
    this.emit('ERROR', msg);
  }
}

/**
 * A readable stream of one input, with its user metadata. `ranges` (inclusive byte ranges) are
 * read one after the other with positioned reads; without them the whole file is streamed.
 */
function inputFile(fd, metadata, ranges) {
  const stream = new PassThrough({ highWaterMark: CHUNK });
  stream.getMetadata = () => ({ ...metadata });
  /** The whole input as one Buffer, for small objects. */
  stream.readAll = async () => {
    const chunks = [];
    for await (const c of stream) chunks.push(c);
    return Buffer.concat(chunks);
  };
  const pump = async () => {
    const parts = ranges ?? [[0, Infinity]];
    for (const [start, end] of parts) {
      const sources = fs.createReadStream(null, { fd, start, end, autoClose: false, highWaterMark: CHUNK });
      for await (const c of sources) if (!stream.write(c)) await new Promise((r) => stream.once('drain', r));
    }
    stream.end();
  };
  pump().catch((err) => stream.destroy(err));
  return stream;
}

/** An output's metadata as stored (string values), checked as both kinds of output check it. */
function encodeMetadata(metadata, alreadySet) {
  if (alreadySet) throw new Error('setMetadata may be called only once');
  if (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata)) throw new TypeError('metadata must be an object');
  const encoded = JSON.stringify(Object.fromEntries(Object.entries(metadata).map(([k, v]) => [String(k), String(v)])));
  if (Buffer.byteLength(encoded) > MAX_METADATA_BYTES) throw new Error(`metadata is larger than ${MAX_METADATA_BYTES} bytes`);
  return encoded;
}

/** The one output: setMetadata() exactly once, before any write. */
class StorletOutputFile extends Writable {
  constructor(dataPath, metaPath) {
    super({ highWaterMark: CHUNK });
    this.dataPath = dataPath;
    this.metaPath = metaPath;
    this.fd = undefined;
    this.metadataSet = false;
  }

  setMetadata(metadata) {
    const encoded = encodeMetadata(metadata, this.metadataSet);
    fs.writeFileSync(this.metaPath, encoded);
    this.metadataSet = true;
    this.fd = fs.openSync(this.dataPath, 'w');
  }

  _write(chunk, _encoding, callback) {
    if (!this.metadataSet) return callback(new Error('setMetadata must be called before writing data'));
    fs.write(this.fd, chunk, (err) => callback(err));
  }

  _final(callback) {
    if (this.fd !== undefined) fs.close(this.fd, (err) => callback(err));
    else callback();
  }
}

/** Last line of stderr is what the caller sees in the 500 body: keep it short and plain. */
function fail(err) {
  const e = err instanceof Error ? err : new Error(String(err));
  process.stderr.write(`${e.stack ?? e.message}\n${e.name}: ${e.message}\n`);
}

async function main() {
  const mainName = process.argv[2] ?? '';
  const [moduleName, exportName] = mainName.split('.');
  // What the storlet prints must not end up in its output.
  process.stdout.write = process.stderr.write.bind(process.stderr);
  const logger = new StorletLogger(fs.openSync(path.join(DEV, 'log'), 'a'));
  const params = { ...readJson(path.join(DEV, 'params'), {}), storlet_execution_path: CODE_DIR };
  const inFiles = [inputFile(0, readJson(path.join(DEV, 'meta-in'), {}), readJson(path.join(DEV, 'range'), undefined))];
  for (let n = 1; fs.existsSync(path.join(DEV, `in-${n}`)); n++) {
    inFiles.push(inputFile(fs.openSync(path.join(DEV, `in-${n}`), 'r'), readJson(path.join(DEV, `in-${n}.meta`), {}), undefined));
  }
  const out = new StorletOutputFile(path.join(DEV, 'out'), path.join(DEV, 'meta-out'));
  let outError;
  out.on('error', (err) => {
    outError = err;
  });
  // Resolves when the output is closed; ends it first once the event loop has nothing left to do.
  const outClosed = () =>
    new Promise((resolve) => {
      if (out.closed || out.destroyed) return resolve();
      out.once('close', resolve);
      process.once('beforeExit', () => {
        if (!out.writableEnded && !out.destroyed) out.end();
      });
    });

  try {
    const mod = require(path.join(CODE_DIR, `${moduleName}.js`));
    const entry = mod[exportName];
    if (typeof entry !== 'function') throw new TypeError(`${moduleName}.js does not export a function or class named ${exportName}`);
    if (entry.prototype && typeof entry.prototype.invoke === 'function') await new entry(logger).invoke(inFiles, [out], params);
    else await entry(inFiles, [out], params, logger);
    await outClosed();
    if (outError) throw outError;
  } catch (err) {
    logger.error(`storlet ${mainName} raised\n${err instanceof Error ? err.stack : String(err)}`);
    fail(err);
    return EXIT_RAISED;
  }
  if (!out.metadataSet) {
    process.stderr.write(`storlet ${mainName} never called setMetadata on its output\n`);
    return EXIT_NO_METADATA;
  }
  return 0;
}

/** The worker's end of the control socket: frames out (1 byte type, 4 bytes length, payload). */
function frameChannel(sock) {
  return (kind, payload, done) => {
    const body = Buffer.isBuffer(payload) ? payload : Buffer.from(String(payload));
    const head = Buffer.alloc(5);
    head.write(kind, 0, 'latin1');
    head.writeUInt32BE(body.length, 1);
    sock.write(head);
    const flushed = body.length ? sock.write(body) : true;
    if (done) flushed ? done() : sock.once('drain', done);
  };
}

/** The output of a warm call: metadata, then data, as frames. */
class FramedOutputFile extends Writable {
  constructor(send) {
    super({ highWaterMark: CHUNK });
    this.send = send;
    this.metadataSet = false;
  }

  setMetadata(metadata) {
    const encoded = encodeMetadata(metadata, this.metadataSet);
    this.send('M', encoded);
    this.metadataSet = true;
  }

  _write(chunk, _encoding, callback) {
    if (!this.metadataSet) return callback(new Error('setMetadata must be called before writing data'));
    this.send('D', chunk, () => callback());
  }
}

// Set by the launcher of a warm worker, whose PID namespace holds only this shim and what storlet
// code starts. Run by hand on a host, the shim must never signal the host's processes.
const IN_OWN_PID_NAMESPACE = process.env.CAIRN_OWN_PID_NAMESPACE === '1';

function killStrays() {
  if (!IN_OWN_PID_NAMESPACE) return;
  let pids;
  try {
    pids = fs.readdirSync('/proc').filter((p) => /^\d+$/.test(p)).map(Number);
  } catch {
    return;
  }
  for (const pid of pids) {
    if (pid === 1 || pid === process.pid) continue;
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
}

function clearTmp() {
  process.chdir('/tmp');
  for (const entry of fs.readdirSync('/tmp')) fs.rmSync(path.join('/tmp', entry), { recursive: true, force: true });
}

/** One warm call: resolves with the exit code the one-shot shim would have used. */
async function serveCall(req, mainName, send, failCall) {
  const [moduleName, exportName] = mainName.split('.');
  const logger = new StorletLogger(undefined);
  logger.emit = (level, msg) => send('L', `${level} ${msg}\n`);
  const params = { ...(req.params ?? {}), storlet_execution_path: CODE_DIR };
  const fds = [];
  const inFiles = [];
  const out = new FramedOutputFile(send);
  let outError;
  out.on('error', (err) => {
    outError = err;
  });
  let onIdle;
  try {
    const open = (p) => {
      const fd = fs.openSync(p, 'r');
      fds.push(fd);
      return fd;
    };
    inFiles.push(inputFile(open(req.input), req.meta ?? {}, req.ranges ?? undefined));
    for (const extra of req.extras ?? []) inFiles.push(inputFile(open(extra.path), extra.meta ?? {}, undefined));
    const mod = require(path.join(CODE_DIR, `${moduleName}.js`));
    const entry = mod[exportName];
    if (typeof entry !== 'function') throw new TypeError(`${moduleName}.js does not export a function or class named ${exportName}`);
    const called = entry.prototype && typeof entry.prototype.invoke === 'function' ? new entry(logger).invoke(inFiles, [out], params) : entry(inFiles, [out], params, logger);
    await Promise.race([called, failCall.promise]);
    // As in the one-shot shim, an output left open is ended once nothing else is pending: the
    // control socket is unreferenced meanwhile, so an empty event loop means the storlet is done.
    await new Promise((resolve, reject) => {
      failCall.promise.catch(reject);
      if (out.closed || out.destroyed) return resolve();
      out.once('close', resolve);
      onIdle = () => {
        if (!out.writableEnded && !out.destroyed) out.end();
      };
      process.on('beforeExit', onIdle);
    });
    if (outError) throw outError;
  } catch (err) {
    logger.error(`storlet ${mainName} raised\n${err instanceof Error ? err.stack : String(err)}`);
    fail(err);
    return EXIT_RAISED;
  } finally {
    if (onIdle) process.removeListener('beforeExit', onIdle);
    for (const f of inFiles) f.destroy();
    for (const fd of fds) {
      try {
        fs.closeSync(fd);
      } catch {
        /* already closed */
      }
    }
  }
  if (!out.metadataSet) {
    process.stderr.write(`storlet ${mainName} never called setMetadata on its output\n`);
    return EXIT_NO_METADATA;
  }
  return 0;
}

function serve(mainName) {
  const sock = new net.Socket({ fd: 3, readable: true, writable: true });
  const send = frameChannel(sock);
  const toStderr = (chunk, encoding, cb) => {
    send('E', Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk), typeof encoding === 'string' ? encoding : 'utf8'));
    const done = typeof encoding === 'function' ? encoding : cb;
    if (typeof done === 'function') done();
    return true;
  };
  process.stdout.write = toStderr;
  process.stderr.write = toStderr;
  // A failure escaping the storlet's promise (a callback throwing later) fails the current call.
  let failCall;
  const newFailCall = () => {
    let reject;
    const promise = new Promise((_resolve, r) => {
      reject = r;
    });
    promise.catch(() => undefined);
    return { promise, reject };
  };
  for (const event of ['uncaughtException', 'unhandledRejection']) process.on(event, (err) => (failCall ? failCall.reject(err) : fail(err)));
  let buffered = '';
  const queue = [];
  let busy = false;
  const next = async () => {
    if (busy || queue.length === 0) return;
    busy = true;
    const req = queue.shift();
    failCall = newFailCall();
    sock.unref();
    const code = await serveCall(req, mainName, send, failCall);
    failCall = undefined;
    try {
      killStrays();
      clearTmp();
    } catch (err) {
      fail(err);
    }
    sock.ref();
    send('X', JSON.stringify({ code }));
    busy = false;
    void next();
  };
  sock.setEncoding('utf8');
  sock.on('data', (data) => {
    buffered += data;
    let nl;
    while ((nl = buffered.indexOf('\n')) >= 0) {
      queue.push(JSON.parse(buffered.slice(0, nl)));
      buffered = buffered.slice(nl + 1);
    }
    void next();
  });
  sock.on('end', () => process.exit(0));
  sock.on('error', () => process.exit(0));
  send('R', '');
}

if (process.argv[2] === '--serve') serve(process.argv[3] ?? '');
else {
  // An error thrown later from a callback or an unawaited promise is the storlet's failure too.
  for (const event of ['uncaughtException', 'unhandledRejection']) {
    process.on(event, (err) => {
      fail(err);
      process.exit(EXIT_RAISED);
    });
  }
  main().then((code) => process.exit(code));
}
