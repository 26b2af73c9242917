// What Node's HTTP/1.1 parser refuses before a request reaches a surface. Node's default answers
// every parse error with a bare 400 and a reset, which differs from Swift where Swift's clients
// and functional tests rely on it:
// - raw (un-percent-encoded) non-ASCII bytes in the request line: Swift takes them as the UTF-8
//   they are (and answers 412 for invalid UTF-8). Such a request line is percent-encoded and the
//   connection handed back to the HTTP server, so the request goes through the pipeline as usual;
// - bytes after a request whose headers gave no body framing (a PUT without Content-Length) or a
//   chunked body that does not parse: the request in flight still gets its own answer (411, 501)
//   and the connection is closed after it;
// - a well-formed method Node's parser does not know (it knows a fixed list): Swift's 405;
// - everything else gets 400 (431, 408) with a short text body, then the connection is closed.
// The rescue reaches into two documented-by-behaviour parts of Node's server: adding a 'data'
// listener to a server socket detaches its native parser, and a server accepts any Duplex as a
// connection. Where either is missing, the request falls back to the plain 400.
import type * as http from 'node:http';
import type * as net from 'node:net';
import { Duplex } from 'node:stream';

/** How long a request whose body can no longer arrive may take to answer without it. */
const BROKEN_BODY_GRACE_MS = 5_000;

interface ParseError extends Error {
  code?: string;
  rawPacket?: Buffer;
}

type Connection = Duplex & { _httpMessage?: http.ServerResponse | null };

const handled = new WeakSet<object>();

export function handleClientErrors(server: http.Server): void {
  server.on('clientError', (err: ParseError, socket: Connection) => {
    // A failed parser reports again on every later chunk (and on timeouts): answer once.
    if (handled.has(socket)) return;
    handled.add(socket);
    const inFlight = socket._httpMessage;
    if (inFlight && !inFlight.writableEnded) return finishThenClose(inFlight, socket);
    if (err.code === 'HPE_INVALID_URL' && rescueRequestLine(server, socket, err.rawPacket)) return;
    // Node's parser knows a fixed list of methods; any other well-formed one is Swift's 405.
    if (err.code === 'HPE_INVALID_METHOD' && err.rawPacket && startsWithRequestLine(err.rawPacket)) return refuse(socket, 405);
    refuse(socket, statusOf(err.code));
  });
}

function finishThenClose(res: http.ServerResponse, socket: Connection): void {
  socket.pause();
  if (!res.headersSent) res.setHeader('Connection', 'close');
  res.once('finish', () => socket.end());
  res.once('close', () => {
    if (!res.writableFinished) socket.destroy();
  });
  const req = res.req;
  if (!req || req.complete) return;
  // The body can never complete: a handler reading it fails now (so nothing half-written is kept);
  // one that has not started gets a moment to answer without it (Swift's 501 for a bad coding).
  const abort = (): void => void socket.destroy();
  if (req.readableDidRead || req.readableFlowing || req.listenerCount('readable') > 0) return abort();
  // Piping resumes the stream; async iteration listens for 'readable'.
  const onListener = (ev: string): void => {
    if (ev === 'readable' || ev === 'data') setImmediate(abort);
  };
  req.once('resume', abort);
  req.on('newListener', onListener);
  const timer = setTimeout(abort, BROKEN_BODY_GRACE_MS);
  timer.unref();
  // Before Node's own finish handler, which drains (resumes) an unread body.
  res.prependOnceListener('finish', () => {
    clearTimeout(timer);
    req.off('resume', abort);
    req.off('newListener', onListener);
  });
}

const REASONS: Record<number, string> = {
  400: 'Bad Request',
  405: 'Method Not Allowed',
  408: 'Request Timeout',
  431: 'Request Header Fields Too Large',
};

function statusOf(code: string | undefined): number | undefined {
  if (code === 'ECONNRESET') return undefined;
  return code === 'HPE_HEADER_OVERFLOW' ? 431 : code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
}

/** Answers `status` (none when undefined: the peer is gone) and closes the connection. */
function refuse(socket: Connection, status: number | undefined): void {
  const reason = REASONS[status ?? 400];
  if (status !== undefined && socket.writable && !socket._httpMessage?.headersSent) {
    socket.write(`HTTP/1.1 ${status} ${reason}\r\nContent-Type: text/plain\r\nContent-Length: ${reason.length}\r\nConnection: close\r\n\r\n${reason}`);
  }
  // Flush the answer, then drop the connection (Node's server sockets allow half-open ones).
  socket.once('finish', () => socket.destroy());
  socket.end();
}

const REQUEST_LINE = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+ [^ ]+ HTTP\/\d\.\d$/;

function startsWithRequestLine(packet: Buffer): boolean {
  const eol = packet.indexOf(0x0a);
  return eol !== -1 && REQUEST_LINE.test(packet.subarray(0, eol).toString('latin1').replace(/\r$/, ''));
}

/**
 * The request line of a packet that starts with one, its bytes above 0x7F percent-encoded; null
 * when the packet does not start with a request line or has nothing to encode.
 */
export function encodeRequestLine(packet: Buffer): Buffer | null {
  let eol = packet.indexOf(0x0a);
  if (eol === -1) return null;
  if (eol > 0 && packet[eol - 1] === 0x0d) eol -= 1;
  const line = packet.subarray(0, eol);
  let out = '';
  let changed = false;
  for (const byte of line) {
    if (byte > 0x7f) {
      out += `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
      changed = true;
    } else out += String.fromCharCode(byte);
  }
  if (!changed || !REQUEST_LINE.test(out)) return null;
  return Buffer.concat([Buffer.from(out, 'latin1'), packet.subarray(eol)]);
}

function rescueRequestLine(server: http.Server, socket: Connection, packet: Buffer | undefined): boolean {
  const fixed = packet && encodeRequestLine(packet);
  if (!fixed) return false;
  // Node's listeners feed the failed parser; everything attached before this point is theirs.
  const stale = (['data', 'end'] as const).map((ev) => [ev, socket.listeners(ev).filter((l) => l.name.startsWith('bound socketOn'))] as const);
  if (stale[0][1].length === 0) return false;
  const relay = relayOf(socket);
  socket.on('data', (chunk: Buffer) => {
    if (!relay.push(chunk)) socket.pause();
  });
  for (const [ev, listeners] of stale) for (const l of listeners) socket.removeListener(ev, l as (...a: unknown[]) => void);
  relay.push(fixed);
  server.emit('connection', relay);
  socket.resume();
  return true;
}

/** A connection for the HTTP server that reads and writes through `socket`. */
function relayOf(socket: Connection): Duplex {
  const relay = new Duplex({
    read: () => void socket.resume(),
    write: (chunk: Buffer, _enc, cb) => void socket.write(chunk, cb),
    final: (cb) => {
      socket.end();
      cb();
    },
    destroy: (err, cb) => {
      socket.destroy(err ?? undefined);
      cb(err);
    },
  });
  socket.on('end', () => relay.push(null));
  socket.on('close', () => relay.destroy());
  socket.on('timeout', () => relay.emit('timeout'));
  const tcp = socket as unknown as Partial<net.Socket>;
  Object.assign(relay, {
    setTimeout: (ms: number, cb?: () => void) => {
      tcp.setTimeout?.(ms);
      if (cb) relay.once('timeout', cb);
      return relay;
    },
    setNoDelay: () => relay,
    setKeepAlive: () => relay,
  });
  for (const key of ['remoteAddress', 'remotePort', 'remoteFamily', 'localAddress', 'localPort'] as const) {
    Object.defineProperty(relay, key, { get: () => tcp[key] });
  }
  return relay;
}
