// Zip packages built in memory with yazl, the way users' tools would build them.
import { ZipFile } from 'yazl';

export async function makeZip(files: Record<string, string | Buffer>, opts: { compress?: boolean } = {}): Promise<Buffer> {
  const zip = new ZipFile();
  for (const [name, content] of Object.entries(files)) {
    zip.addBuffer(typeof content === 'string' ? Buffer.from(content) : content, name, { compress: opts.compress ?? true });
  }
  zip.end();
  const chunks: Buffer[] = [];
  for await (const c of zip.outputStream as AsyncIterable<Buffer>) chunks.push(c);
  return Buffer.concat(chunks);
}
