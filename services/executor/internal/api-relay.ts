// In the distributed mode the api lives in another process (another pod), yet sandboxes reach
// the platform API the same way as locally: through a unix socket mounted at
// /run/cairn/api.sock (functions-runtime/CONTRACT.md). This relay listens on that socket and
// pipes each connection, bytes untouched, to the api's internal address (CAIRN_API_URL).
import * as fs from 'node:fs';
import * as net from 'node:net';

export class ApiRelay {
  private server: net.Server | undefined;
  private readonly connections = new Set<net.Socket>();

  constructor(
    private readonly socketPath: string,
    private readonly apiUrl: string,
  ) {}

  async start(): Promise<void> {
    const target = new URL(this.apiUrl);
    const port = Number(target.port || 80);
    fs.rmSync(this.socketPath, { force: true });
    this.server = net.createServer((client) => {
      const upstream = net.connect(port, target.hostname);
      for (const s of [client, upstream]) {
        this.connections.add(s);
        s.once('close', () => this.connections.delete(s));
        // Either side failing ends both: the sandbox sees a closed connection, as with a dead api.
        s.on('error', () => {
          client.destroy();
          upstream.destroy();
        });
      }
      client.pipe(upstream);
      upstream.pipe(client);
    });
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(this.socketPath, () => resolve());
    });
    // Sandboxes run as nobody.
    fs.chmodSync(this.socketPath, 0o666);
  }

  async stop(): Promise<void> {
    for (const s of this.connections) s.destroy();
    if (this.server) await new Promise((r) => this.server!.close(r));
    this.server = undefined;
    fs.rmSync(this.socketPath, { force: true });
  }
}
