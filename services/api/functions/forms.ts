// Function create/update arrive as form posts from python-qinlingclient (multipart when a
// package is attached, urlencoded otherwise) and as JSON from other clients. All three become
// one `FormInput`: string fields (numbers stay strings, as on the wire) plus the package bytes.
import busboy from 'busboy';
import type { IncomingMessage } from 'node:http';
import { CairnError } from '../../core/errors';
import { mediaType, parseJsonObject, readBody } from '../http/body';

export interface FormInput {
  /** Last value of each field; repeated keys (the CLI's `swift=container&swift=object`) keep all in `all`. */
  fields: Record<string, string>;
  all: Record<string, string[]>;
  /** Present when the request carried a `package` file part. */
  package?: Buffer;
}

export interface FormLimits {
  /** Cap on the non-file part of the request. */
  fieldsMaxBytes: number;
  /** Cap on the package part. */
  packageMaxBytes: number;
}

export async function readForm(req: IncomingMessage, limits: FormLimits): Promise<FormInput> {
  const type = mediaType(req);
  if (type === 'multipart/form-data') return readMultipart(req, limits);
  const raw = await readBody(req, limits.fieldsMaxBytes);
  if (type === 'application/json') return fromJson(raw);
  // urlencoded, or no/odd content type with a form-looking body (the CLI's empty update PUT)
  const form: FormInput = { fields: {}, all: {} };
  for (const [k, v] of new URLSearchParams(raw.toString('utf8'))) add(form, k, v);
  return form;
}

function fromJson(raw: Buffer): FormInput {
  const form: FormInput = { fields: {}, all: {} };
  for (const [k, v] of Object.entries(parseJsonObject(raw))) {
    if (v === null || v === undefined) continue;
    // Qinling took `code` as a JSON string; other clients send an object. Normalise to text.
    add(form, k, typeof v === 'string' ? v : JSON.stringify(v));
  }
  return form;
}

function add(form: FormInput, key: string, value: string): void {
  form.fields[key] = value;
  (form.all[key] ??= []).push(value);
}

function readMultipart(req: IncomingMessage, limits: FormLimits): Promise<FormInput> {
  return new Promise((resolve, reject) => {
    const form: FormInput = { fields: {}, all: {} };
    let failed = false;
    const fail = (err: unknown): void => {
      if (failed) return;
      failed = true;
      req.unpipe();
      req.resume();
      reject(err);
    };
    let bb: busboy.Busboy;
    try {
      bb = busboy({
        headers: req.headers,
        limits: { fileSize: limits.packageMaxBytes, fieldSize: limits.fieldsMaxBytes, files: 1, fields: 64, parts: 66 },
      });
    } catch (err) {
      reject(new CairnError('request.bad_body', { reason: (err as Error).message }));
      return;
    }
    const pending: Promise<void>[] = [];
    bb.on('field', (name, value, info) => {
      if (info.valueTruncated) fail(new CairnError('request.body_too_large', { limit: limits.fieldsMaxBytes }));
      else add(form, name, value);
    });
    bb.on('file', (name, stream) => {
      if (name !== 'package') {
        stream.resume();
        return;
      }
      const chunks: Buffer[] = [];
      pending.push(
        new Promise<void>((done) => {
          stream.on('data', (c: Buffer) => chunks.push(c));
          stream.on('limit', () => fail(new CairnError('function.package_too_large', { limit: limits.packageMaxBytes })));
          stream.on('end', () => {
            form.package = Buffer.concat(chunks);
            done();
          });
        }),
      );
    });
    bb.on('filesLimit', () => fail(new CairnError('request.bad_body', { reason: 'only one file part (package) is accepted' })));
    bb.on('error', (err: Error) => fail(new CairnError('request.bad_body', { reason: err.message })));
    bb.on('close', () => {
      Promise.all(pending).then(() => {
        if (!failed) resolve(form);
      }, fail);
    });
    req.pipe(bb);
  });
}
