// Node-only helpers for the SDK (files). Not exported from the browser-safe entry (src/index.ts).
import { readFile } from 'node:fs/promises';
import type { Client, PublishOptions, PublishResult } from './client.js';
import { ClientError } from './errors.js';
import type { Inputs } from './tensors.js';

async function read(path: string, what: string): Promise<Uint8Array> {
  try {
    return new Uint8Array(await readFile(path));
  } catch (e) {
    throw new ClientError('INVALID_INPUT_FILE', `cannot read ${what} ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { file: path });
  }
}

/** Reads an .onnx file. */
export function readModelFile(path: string): Promise<Uint8Array> {
  return read(path, 'model');
}

/** Publishes an .onnx file through a client. */
export async function publishFile(client: Client, path: string, options: PublishOptions): Promise<PublishResult> {
  return client.publish(await readModelFile(path), options);
}

/** Reads a JSON input file `{"name": {"dims", "data", "dtype"?} | nested array}` (the CLI's format) as SDK inputs. */
export async function readInputsFile(path: string): Promise<Inputs> {
  const text = new TextDecoder().decode(await read(path, 'input file'));
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new ClientError('INVALID_INPUT_FILE', `${path} is not valid JSON: ${(e as Error).message}`, { file: path });
  }
  if (!json || typeof json !== 'object' || Array.isArray(json)) {
    throw new ClientError('INVALID_INPUT_FILE', `${path} must hold a JSON object mapping input names to tensors`, { file: path });
  }
  return json as Inputs;
}
