// The agent that starts each runtime pod (kept inline so the runtime images need no extra file):
// it listens on the pod's control port and takes three kinds of connections, each opened with
// `<kind> <secret>\n`: `ctl` and `log` become the runtime server's fd 3 and fds 1/2 (the same
// streams a bwrap sandbox has, functions-runtime/CONTRACT.md), and once both are there it starts
// the server; each `code` connection streams the function's files into the pod's /function
// (`<path>\t<size>\n<bytes>`…, answered `ok\n`): the specialisation of a generic pod. The pod
// ends when the server exits. One agent per language, so each runtime image needs only its own.

/** `python3 -I -c AGENT <port> <function dir> <server argv…>`, secret in CAIRN_AGENT_SECRET. */
export const PYTHON_AGENT = String.raw`
import os, socket, subprocess, sys, threading
SECRET = os.environ['CAIRN_AGENT_SECRET']
PORT, FN, CMD = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind((os.environ.get('POD_IP') or '0.0.0.0', PORT))
ls.listen(16)
streams, child = {}, None
def receive(f, c):
    root = os.path.realpath(FN)
    while True:
        head = f.readline(4096)
        if not head:
            break
        name, size = head.decode().rstrip('\n').rsplit('\t', 1)
        dest = os.path.realpath(os.path.join(root, name))
        if not dest.startswith(root + os.sep):
            raise ValueError('bad path ' + name)
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        left = int(size)
        with open(dest, 'wb') as out:
            while left:
                chunk = f.read(min(left, 65536))
                if not chunk:
                    raise ValueError('short file ' + name)
                out.write(chunk)
                left -= len(chunk)
    c.sendall(b'ok\n')
def serve_code(f, c):
    try:
        receive(f, c)
    except Exception as e:
        c.sendall(('error %s\n' % e).encode())
    finally:
        # The file object holds a reference too: shut down so the executor sees the end now.
        c.shutdown(socket.SHUT_RDWR)
        f.close()
        c.close()
def wait_child(p):
    os._exit(p.wait())
while True:
    c, _ = ls.accept()
    f = c.makefile('rb')
    head = f.readline(256).decode().split()
    if len(head) != 2 or head[1] != SECRET:
        f.close()
        c.close()
        continue
    if head[0] == 'code':
        threading.Thread(target=serve_code, args=(f, c), daemon=True).start()
    elif head[0] in ('ctl', 'log') and child is None:
        streams[head[0]] = c
        if len(streams) == 2:
            ctl, log = streams['ctl'].fileno(), streams['log'].fileno()
            child = subprocess.Popen(CMD, stdin=subprocess.DEVNULL, stdout=log, stderr=log, pass_fds=(3,), preexec_fn=lambda: os.dup2(ctl, 3))
            threading.Thread(target=wait_child, args=(child,), daemon=True).start()
    else:
        f.close()
        c.close()
`;

/** `node -e AGENT <port> <function dir> <server argv…>`, secret in CAIRN_AGENT_SECRET. */
export const NODE_AGENT = String.raw`
const net = require('net'), fs = require('fs'), path = require('path'), { spawn } = require('child_process');
const SECRET = process.env.CAIRN_AGENT_SECRET;
const [port, fnDir, ...cmd] = process.argv.slice(1);
const root = path.resolve(fnDir);
const streams = {};
let child;
function receive(buf) {
  let at = 0;
  while (at < buf.length) {
    const nl = buf.indexOf(10, at);
    const [name, size] = buf.subarray(at, nl).toString().split('\t');
    const dest = path.resolve(root, name);
    if (!dest.startsWith(root + path.sep)) throw new Error('bad path ' + name);
    fs.mkdirSync(path.dirname(dest), { recursive: true });
    fs.writeFileSync(dest, buf.subarray(nl + 1, nl + 1 + Number(size)));
    at = nl + 1 + Number(size);
  }
}
net.createServer((c) => {
  let head = Buffer.alloc(0);
  const onData = (d) => {
    head = Buffer.concat([head, d]);
    const nl = head.indexOf(10);
    if (nl < 0) return;
    c.removeListener('data', onData);
    const [kind, secret] = head.subarray(0, nl).toString().split(' ');
    if (secret !== SECRET) return c.destroy();
    const rest = head.subarray(nl + 1);
    if (kind === 'code') {
      const chunks = [rest];
      c.on('data', (d) => chunks.push(d));
      c.on('end', () => {
        try { receive(Buffer.concat(chunks)); c.end('ok\n'); } catch (e) { c.end('error ' + e.message + '\n'); }
      });
    } else if ((kind === 'ctl' || kind === 'log') && !child) {
      c.pause();
      streams[kind] = c;
      if (streams.ctl && streams.log) {
        child = spawn(cmd[0], cmd.slice(1), { stdio: ['ignore', streams.log, streams.log, streams.ctl] });
        child.on('exit', (code) => process.exit(code === null ? 1 : code));
      }
    } else c.destroy();
  };
  c.on('data', onData);
  c.on('error', () => {});
}).listen(Number(port), process.env.POD_IP || '0.0.0.0');
`;
