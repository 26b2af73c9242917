"""Cairn python3 runtime server: lives inside one sandbox and runs one function's code.

Wire contract: functions-runtime/CONTRACT.md. The server is started generic (interpreter and the
built-in OpenStack client libraries already imported: the zygote) and is specialised by its first
`run`, which imports the function's module from the package directory. User code runs in this
process, one call at a time; the executor kills the whole sandbox on a timeout, so nothing here
needs to interrupt user code.
"""
import importlib
import json
import os
import signal
import socket
import sys
import threading
import time
import traceback

try:  # Built-in libraries, imported before any function is known (see CONTRACT.md, "zygote").
    from keystoneauth1 import plugin as ksa_plugin
    from keystoneauth1 import session as ksa_session
    import swiftclient  # noqa: F401  (preloaded so user imports of it cost nothing)
except ImportError:  # the runtime still works; context['os_session'] is then None
    ksa_plugin = None
    ksa_session = None


def parse_args(argv):
    args = {}
    for i in range(0, len(argv) - 1, 2):
        args[argv[i].lstrip('-')] = argv[i + 1]
    return args


ARGS = parse_args(sys.argv[1:])
CONTROL_FD = int(ARGS.get('control-fd', '3'))
FUNCTION_DIR = ARGS.get('function-dir', '/function')
API_PORT = int(ARGS.get('api-port', '0'))
API_SOCKET = ARGS.get('api-socket', '')


# --- forwarder: 127.0.0.1:<api-port> inside the sandbox's own network namespace -> API socket
def start_forwarder():
    if not API_PORT or not API_SOCKET:
        return
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(('127.0.0.1', API_PORT))
    listener.listen(64)
    threading.Thread(target=accept_loop, args=(listener,), daemon=True).start()


def accept_loop(listener):
    while True:
        client, _ = listener.accept()
        threading.Thread(target=relay, args=(client,), daemon=True).start()


def relay(client):
    upstream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        upstream.connect(API_SOCKET)
    except OSError:
        client.close()
        upstream.close()
        return
    back = threading.Thread(target=pump, args=(upstream, client), daemon=True)
    back.start()
    pump(client, upstream)
    back.join()
    client.close()
    upstream.close()


def pump(src, dst):
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            dst.sendall(data)
    except OSError:
        pass
    try:
        dst.shutdown(socket.SHUT_WR)
    except OSError:
        pass


# --- context handed to user code
if ksa_plugin is not None:
    class CallerAuth(ksa_plugin.BaseAuthPlugin):
        """Auth plugin that holds the caller's token and the platform's endpoints (no Keystone call)."""

        def __init__(self, ctx):
            super().__init__()
            self._ctx = ctx

        def get_token(self, session, **kwargs):
            return self._ctx['token']

        def get_endpoint(self, session, service_type=None, interface=None, region_name=None, **kwargs):
            return self._ctx['endpoints'].get(service_type)

        def get_project_id(self, session, **kwargs):
            return self._ctx.get('project_id')

        def get_user_id(self, session, **kwargs):
            return self._ctx.get('user_id')

        def invalidate(self):
            return False  # a caller's token cannot be renewed from here


def make_context(ctx):
    context = dict(ctx)
    # A Session costs ~20 us to build, so each call gets its own, bound to its caller's token.
    context['os_session'] = ksa_session.Session(auth=CallerAuth(ctx)) if ksa_session is not None else None
    return context


# --- loading the function
loaded = {}  # entry -> callable


class LoadError(Exception):
    pass


def load(entry):
    func = loaded.get(entry)
    if func is not None:
        return func
    mod_name, _, func_name = entry.rpartition('.')
    if not mod_name or not func_name:
        raise LoadError('Invalid entry %r: expected <module>.<function>' % entry)
    if sys.path[0] != FUNCTION_DIR:
        sys.path.insert(0, FUNCTION_DIR)
    try:
        module = importlib.import_module(mod_name)
    except BaseException as e:  # SyntaxError, ImportError, or whatever the module's top level raised
        traceback.print_exc()
        raise LoadError('Failed to load module %r of entry %s: %s: %s' % (mod_name, entry, type(e).__name__, e))
    func = getattr(module, func_name, None)
    if not callable(func):
        raise LoadError('Function %r not found in module %r (entry %s)' % (func_name, mod_name, entry))
    loaded[entry] = func
    return func


# Set by the launchers (bwrap sandbox, runtime pod) whose PID namespace holds only this server and
# what user code starts. Started by hand on a host, the server must never signal the host's processes.
IN_OWN_PID_NAMESPACE = os.environ.get('CAIRN_OWN_PID_NAMESPACE') == '1'


def kill_strays():
    """Processes user code left behind would leak into the next call of this warm sandbox."""
    if not IN_OWN_PID_NAMESPACE:
        return
    me = os.getpid()
    try:
        pids = [int(p) for p in os.listdir('/proc') if p.isdigit()]
    except OSError:
        return
    for pid in pids:
        if pid not in (1, me):
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
    # Every child was just sent SIGKILL, so waiting for all of them is bounded; reaping here keeps
    # their zombies out of the next call.
    try:
        while True:
            os.waitpid(-1, 0)
    except ChildProcessError:
        pass


def run(msg):
    try:
        func = load(msg.get('entry') or 'main.main')
    except LoadError as e:
        print(str(e), file=sys.stderr)
        return {'ok': False, 'error': str(e), 'duration': 0}
    args = []
    kwargs = {}
    inp = msg.get('input') or {'kind': 'none'}
    if inp.get('kind') == 'object':
        kwargs.update(inp.get('value') or {})
    elif inp.get('kind') == 'raw' and inp.get('value'):
        args.append(inp['value'])
    kwargs['context'] = make_context(msg.get('context') or {})
    start = time.perf_counter()
    try:
        result = func(*args, **kwargs)
        duration = time.perf_counter() - start
    except BaseException as e:  # SystemExit too: it ends the call, not the runtime
        duration = time.perf_counter() - start
        traceback.print_exc()
        message = str(e) or type(e).__name__
        return {'ok': False, 'error': message, 'duration': round(duration, 3)}
    try:
        # Validate here so a bad value fails this call with a clear message instead of the reply.
        json.dumps(result, allow_nan=False)
    except (TypeError, ValueError) as e:
        message = 'Function return value is not JSON serialisable: %s' % e
        print(message, file=sys.stderr)
        return {'ok': False, 'error': message, 'duration': round(duration, 3)}
    return {'ok': True, 'output': result, 'duration': round(duration, 3)}


def main():
    os.chdir('/tmp')
    start_forwarder()
    control = socket.socket(fileno=CONTROL_FD)
    reader = control.makefile('rb')
    control.sendall(b'{"ready":true}\n')
    for line in reader:
        msg = json.loads(line)
        if msg.get('op') != 'run':
            continue
        reply = run(msg)
        kill_strays()
        sys.stdout.flush()
        sys.stderr.flush()
        # Everything user code wrote to fds 1/2 precedes this marker in the log stream.
        os.write(1, msg['end'].encode())
        control.sendall(json.dumps(reply, allow_nan=False).encode() + b'\n')


if __name__ == '__main__':
    main()
