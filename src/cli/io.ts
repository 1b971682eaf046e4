import { readFileSync } from 'node:fs';
import { InputError, VerinferError } from '../errors.js';
import type { Session } from '../engine/session.js';
import { decodeTensorProtoBytes } from '../onnx/tensorProto.js';
import { isDType } from '../tensor/dtype.js';
import { tensorFromJson, tensorToJson } from '../tensor/json.js';
import type { Tensor } from '../tensor/tensor.js';

export { tensorToJson };

function readFile(path: string): Uint8Array {
  try {
    return new Uint8Array(readFileSync(path));
  } catch (e) {
    throw new InputError('INVALID_INPUT_FILE', `cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { file: path });
  }
}

/**
 * Reads a model's inputs from files: one JSON file mapping input names to
 * tensors, or TensorProto .pb files (matched by their stored name, else by the
 * order of the model's inputs).
 */
export function readInputs(files: string[], session: Session, maxBytes: number): Record<string, Tensor> {
  const feeds: Record<string, Tensor> = {};
  const inputs = session.inputs;
  files.forEach((file, pos) => {
    const bytes = readFile(file);
    if (file.endsWith('.pb')) {
      const t = decodeTensorProtoBytes(bytes, maxBytes);
      const name = inputs[pos]?.name;
      if (!name) throw new InputError('UNKNOWN_INPUT', `${file}: the model has only ${inputs.length} inputs`, { file });
      feeds[name] = t;
      return;
    }
    let json: unknown;
    try {
      json = JSON.parse(new TextDecoder().decode(bytes));
    } catch (e) {
      throw new InputError('INVALID_INPUT_FILE', `${file} is not valid JSON: ${(e as Error).message}`, { file });
    }
    if (!json || typeof json !== 'object' || Array.isArray(json)) {
      throw new InputError('INVALID_INPUT_FILE', `${file} must hold a JSON object mapping input names to tensors`, { file });
    }
    for (const [name, v] of Object.entries(json as Record<string, unknown>)) {
      const declared = session.model.graph.inputs.find((i) => i.name === name);
      if (!declared) {
        throw new InputError('UNKNOWN_INPUT', `${file}: the model has no input named ${name}`, { file, input: name, expected: inputs.map((i) => i.name) });
      }
      const dt = declared.dtype !== undefined && isDType(declared.dtype) ? declared.dtype : undefined;
      try {
        feeds[name] = tensorFromJson(v, dt, name, maxBytes);
      } catch (e) {
        if (e instanceof VerinferError) e.details.file = file;
        throw e;
      }
    }
  });
  return feeds;
}
