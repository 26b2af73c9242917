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

/**
 * A zip whose entry names yazl refuses to write (`../x`, `/x`): built with stand-in names of the
 * same length, then the name bytes are rewritten in both the local headers and the central directory.
 */
export async function makeZipWithRawNames(files: Record<string, string>): Promise<Buffer> {
  const standIns: Record<string, string> = {};
  Object.keys(files).forEach((name, i) => {
    standIns[name] = `${String(i).padStart(name.length, 'q')}`.slice(0, name.length);
  });
  let zip = await makeZip(Object.fromEntries(Object.entries(files).map(([n, c]) => [standIns[n], c])));
  for (const [name, standIn] of Object.entries(standIns)) {
    zip = Buffer.from(zip.toString('latin1').split(standIn).join(name), 'latin1');
  }
  return zip;
}
