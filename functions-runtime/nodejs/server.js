'use strict';
// Cairn nodejs runtime server: lives inside one sandbox and runs one function's code.
// Wire contract: functions-runtime/CONTRACT.md. Started generic, specialised by its first `run`
// (which requires the function's module). User code runs in this process, one call at a time;
// the executor kills the whole sandbox on a timeout. Plain CommonJS, no dependencies: it runs
// under the platform's own node binary with nothing but /usr mounted.
const fs = require('fs');
const net = require('net');
const path = require('path');

function parseArgs(argv) {
  const args = {};
  for (let i = 0; i + 1 < argv.length; i += 2) args[argv[i].replace(/^-+/, '')] = argv[i + 1];
  return args;
}
const ARGS = parseArgs(process.argv.slice(2));
const CONTROL_FD = Number(ARGS['control-fd'] || 3);
const FUNCTION_DIR = ARGS['function-dir'] || '/function';
const API_PORT = Number(ARGS['api-port'] || 0);
const API_SOCKET = ARGS['api-socket'] || '';

// --- forwarder: 127.0.0.1:<api-port> inside the sandbox's own network namespace -> API socket
function startForwarder(done) {
  if (!API_PORT || !API_SOCKET) return done();
  const server = net.createServer((client) => {
    const upstream = net.connect(API_SOCKET);
    client.pipe(upstream);
    upstream.pipe(client);
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
  });
  server.listen(API_PORT, '127.0.0.1', done);
}

// --- loading the function
const loaded = new Map(); // entry -> handler

function load(entry) {
  const cached = loaded.get(entry);
  if (cached) return cached;
  const dot = entry.indexOf('.');
  if (dot <= 0 || dot === entry.length - 1) throw new Error(`Invalid entry ${JSON.stringify(entry)}: expected <module>.<handler>`);
  const modName = entry.slice(0, dot);
  const fnName = entry.slice(dot + 1);
  let mod;
  try {
    mod = require(path.join(FUNCTION_DIR, modName));
  } catch (err) {
    process.stderr.write(`${(err && err.stack) || err}\n`);
    const what = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
    throw new Error(`Failed to load module '${modName}' of entry ${entry}: ${what}`);
  }
  const handler = mod && mod[fnName];
  if (typeof handler !== 'function') throw new Error(`Function '${fnName}' not found in module '${modName}' (entry ${entry})`);
  loaded.set(entry, handler);
  return handler;
}

// Set by the launchers (bwrap sandbox, runtime pod) whose PID namespace holds only this server and
// what user code starts. Started by hand on a host, the server must never signal the host's processes.
const IN_OWN_PID_NAMESPACE = process.env.CAIRN_OWN_PID_NAMESPACE === '1';

// Processes user code left behind would leak into the next call of this warm sandbox.
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
    try { process.kill(pid, 'SIGKILL'); } catch { /* already gone */ }
  }
}

function errorMessage(err) {
  if (err instanceof Error) return err.message || err.name;
  if (typeof err === 'string') return err;
  try { return JSON.stringify(err); } catch { return String(err); }
}

async function run(msg) {
  let handler;
  try {
    handler = load(msg.entry || 'main.main');
  } catch (err) {
    process.stderr.write(`${err.message}\n`);
    return { ok: false, error: err.message, duration: 0 };
  }
  const input = msg.input || { kind: 'none' };
  const arg = input.kind === 'object' || input.kind === 'raw' ? input.value : undefined;
  const context = Object.assign({}, msg.context || {});
  const start = process.hrtime.bigint();
  let output;
  try {
    output = await handler(context, arg);
  } catch (err) {
    const duration = Number(process.hrtime.bigint() - start) / 1e9;
    process.stderr.write(`${(err && err.stack) || errorMessage(err)}\n`);
    return { ok: false, error: errorMessage(err), duration: round3(duration) };
  }
  const duration = round3(Number(process.hrtime.bigint() - start) / 1e9);
  try {
    // Validate here so a bad value fails this call with a clear message instead of the reply.
    JSON.stringify(output === undefined ? null : output);
  } catch (err) {
    const message = `Function return value is not JSON serialisable: ${errorMessage(err)}`;
    process.stderr.write(`${message}\n`);
    return { ok: false, error: message, duration };
  }
  return { ok: true, output: output === undefined ? null : output, duration };
}

function round3(x) {
  return Math.round(x * 1000) / 1000;
}

function main() {
  process.chdir('/tmp');
  // Errors escaping user code after its promise settled: logged, never fatal to the sandbox.
  process.on('uncaughtException', (err) => process.stderr.write(`Uncaught exception: ${(err && err.stack) || err}\n`));
  process.on('unhandledRejection', (err) => process.stderr.write(`Unhandled rejection: ${(err && err.stack) || err}\n`));
  const control = new net.Socket({ fd: CONTROL_FD, readable: true, writable: true });
  let buffered = '';
  let chain = Promise.resolve();
  control.setEncoding('utf8');
  control.on('data', (data) => {
    buffered += data;
    let nl;
    while ((nl = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      const msg = JSON.parse(line);
      if (msg.op !== 'run') continue;
      chain = chain.then(async () => {
        const reply = await run(msg);
        killStrays();
        // Everything user code wrote to fds 1/2 precedes this marker in the log stream.
        process.stdout.write(msg.end, () => control.write(`${JSON.stringify(reply)}\n`));
      });
    }
  });
  control.on('end', () => process.exit(0));
  startForwarder(() => control.write('{"ready":true}\n'));
}

main();
