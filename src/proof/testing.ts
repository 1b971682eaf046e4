// Test support for the proof layer: fixed keys, a deep chain model, a bit-flip
// tamper and a receipt signer for executors honest or not.
import { privateKeyToAccount, type PrivateKeyAccount } from 'viem/accounts';
import { buildModel } from '../onnx/build.js';
import { SEMANTICS_VERSION, type RunOptions } from '../engine/session.js';
import { DType } from '../tensor/dtype.js';
import { Tensor } from '../tensor/tensor.js';
import { tensorListDigest } from '../tensor/canonical.js';
import { modelCid } from '../hash/cid.js';
import { signReceipt, type Receipt } from './receipt.js';
import { toHexBytes, type Hex } from './wire.js';
import { randomTensor } from '../../test/fixtures/models.js';

export const executor = privateKeyToAccount('0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d');
export const other = privateKeyToAccount('0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a');

/** `layers` x (MatMul, Add, Tanh) on [2, width]. */
export function deepModel(layers: number, width = 6): Uint8Array {
  const nodes = [];
  const initializers: Record<string, Tensor> = {};
  let cur = 'x';
  for (let l = 0; l < layers; l++) {
    initializers[`w${l}`] = randomTensor([width, width], 100 + l, 0.9);
    initializers[`b${l}`] = randomTensor([width], 200 + l, 0.3);
    nodes.push({ op: 'MatMul', inputs: [cur, `w${l}`], outputs: [`m${l}`] });
    nodes.push({ op: 'Add', inputs: [`m${l}`, `b${l}`], outputs: [`a${l}`] });
    nodes.push({ op: 'Tanh', inputs: [`a${l}`], outputs: [l === layers - 1 ? 'y' : `h${l}`] });
    cur = `h${l}`;
  }
  return buildModel({
    inputs: [{ name: 'x', dtype: DType.float32, shape: [2, width] }],
    outputs: [{ name: 'y', dtype: DType.float32, shape: [2, width] }],
    initializers,
    nodes,
  });
}

/** Flips `bit` of element 0 of node `at`'s first output (a dishonest executor's tamper). */
export function flipBitAt(at: number, bit: number): RunOptions['afterNode'] {
  return (node, outs) => {
    if (node.index !== at) return;
    const t = outs[0]!;
    const d = Float32Array.from(t.data as Float32Array);
    new Uint32Array(d.buffer)[0]! ^= 1 << bit;
    return [new Tensor(t.dtype, t.shape, d), ...outs.slice(1)];
  };
}

export interface TestReceiptFields {
  modelBytes: Uint8Array;
  /** The request inputs in graph order (the receipt's input digest). */
  inputs: Tensor[];
  outputs: Tensor[];
  traceRoot: Hex;
  account?: PrivateKeyAccount;
  requestByte?: number;
  overrides?: Partial<Receipt['typedData']['message']>;
}

/** Signs a receipt for whatever the executor computed, as JSON (what crosses the wire). */
export async function signTestReceipt(f: TestReceiptFields): Promise<Receipt> {
  const cid = await modelCid(f.modelBytes);
  const receipt = await signReceipt(
    {
      modelCid: cid.cid,
      chainId: 31337,
      message: {
        model: toHexBytes(cid.digest),
        input: toHexBytes(tensorListDigest(f.inputs)),
        output: toHexBytes(tensorListDigest(f.outputs)),
        traceRoot: f.traceRoot,
        semantics: SEMANTICS_VERSION,
        requestId: toHexBytes(new Uint8Array(32).fill(f.requestByte ?? 7)),
        executor: executor.address,
        issuedAt: 1_700_000_000,
        expiresAt: 1_800_000_000,
        ...f.overrides,
      },
    },
    f.account ?? executor,
  );
  return JSON.parse(JSON.stringify(receipt));
}
