import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSession } from '../session.js';
import { buildModel, graphAttr, type BuildSpec } from '../../onnx/build.js';
import { loadModel } from '../../onnx/load.js';
import { DType } from '../../tensor/dtype.js';
import { Tensor } from '../../tensor/tensor.js';
import { f32, i64, throwsCode, vals } from '../../../test/fixtures/kernels.js';

const bool = (b: boolean) => new Tensor(DType.bool, [], Uint8Array.of(b ? 1 : 0));
const F = DType.float32;

// If reading x and r from the top-level scope; r's last direct reader is Neg (node 1),
// so r stays alive only because If captures it.
const ifSpec: BuildSpec = {
  inputs: [
    { name: 'c', dtype: DType.bool, shape: [] },
    { name: 'x', dtype: F, shape: [3] },
  ],
  outputs: [
    { name: 'out', dtype: F },
    { name: 'n', dtype: F },
  ],
  nodes: [
    { op: 'Relu', inputs: ['x'], outputs: ['r'] },
    { op: 'Neg', inputs: ['r'], outputs: ['n'] },
    {
      op: 'If',
      inputs: ['c'],
      outputs: ['out'],
      attrs: {
        then_branch: graphAttr({ name: 'then', inputs: [], outputs: [{ name: 't', dtype: F }], nodes: [{ op: 'Add', inputs: ['x', 'r'], outputs: ['t'] }] }),
        else_branch: graphAttr({ name: 'else', inputs: [], outputs: [{ name: 'e', dtype: F }], nodes: [{ op: 'Sub', inputs: ['x', 'r'], outputs: ['e'] }] }),
      },
    },
  ],
};

test('If: loader decodes branches and records outer-scope captures', () => {
  const m = loadModel(buildModel(ifSpec));
  const node = m.graph.nodes[2]!;
  const then = node.attrs.get('then_branch');
  assert.equal(then?.kind, 'graph');
  assert.equal(then?.kind === 'graph' && then.value.nodes[0]!.opType, 'Add');
  assert.deepEqual(node.captures, ['x', 'r']);
});

test('If: runs the taken branch with outer values; one trace leaf per top-level node', () => {
  const s = createSession(buildModel(ifSpec));
  const x = f32([-1, 2, 3]);
  const a = s.run({ c: bool(true), x }, { trace: true });
  assert.deepEqual(vals(a.outputs.out!), [-1, 4, 6]);
  assert.equal(a.trace!.leaves.length, 3);
  const b = s.run({ c: bool(false), x });
  assert.deepEqual(vals(b.outputs.out!), [-1, 0, 0]);
});

test('If: runNode re-runs the branch from the node inputs plus captures (the fraud-proof check)', () => {
  const s = createSession(buildModel(ifSpec));
  const out = s.runNode(2, [bool(true)], { x: f32([1, 1, 1]), r: f32([2, 3, 4]) });
  assert.deepEqual(vals(out[0]!), [3, 4, 5]);
  // Without the captured values the node cannot run: a typed error naming the node.
  throwsCode(() => s.runNode(2, [bool(true)]), 'INVALID_ARGUMENT', (d) => d.node === 2 && d.subgraph === 'then');
});

test('loader: a subgraph may not read an undefined name or one defined after its node', () => {
  const bad = (name: string) =>
    buildModel({
      inputs: [{ name: 'c', dtype: DType.bool, shape: [] }],
      outputs: [{ name: 'out', dtype: F }, { name: 'late', dtype: F }],
      initializers: { k: f32([1]) },
      nodes: [
        {
          op: 'If',
          inputs: ['c'],
          outputs: ['out'],
          attrs: {
            then_branch: graphAttr({ inputs: [], outputs: [{ name: 't', dtype: F }], nodes: [{ op: 'Neg', inputs: [name], outputs: ['t'] }] }),
            else_branch: graphAttr({ inputs: [], outputs: [{ name: 'k', dtype: F }], nodes: [] }),
          },
        },
        { op: 'Neg', inputs: ['k'], outputs: ['late'] },
      ],
    });
  assert.doesNotThrow(() => loadModel(bad('k')));
  throwsCode(() => loadModel(bad('nope')), 'MODEL_INVALID');
  throwsCode(() => loadModel(bad('late')), 'MODEL_INVALID');
});

// acc_{i+1} = acc_i + x (x from the outer scope); scan output: acc after each step.
function loopModel(opts: { withM: boolean; condLimit?: number }): Uint8Array {
  const bodyNodes: BuildSpec['nodes'] = [
    { op: 'Add', inputs: ['acc_in', 'x'], outputs: ['acc_out'] },
    { op: 'Identity', inputs: ['acc_out'], outputs: ['scan'] },
  ];
  if (opts.condLimit !== undefined) bodyNodes.push({ op: 'Less', inputs: ['i', 'limit'], outputs: ['cond_out'] });
  else bodyNodes.push({ op: 'Identity', inputs: ['cond_in'], outputs: ['cond_out'] });
  return buildModel({
    opset: 16,
    inputs: [{ name: 'x', dtype: F, shape: [2] }, ...(opts.withM ? [{ name: 'M', dtype: DType.int64, shape: [] }] : [])],
    outputs: [
      { name: 'acc', dtype: F },
      { name: 'scans', dtype: F },
    ],
    initializers: { cond: bool(true), zero: f32([0, 0]), limit: i64([opts.condLimit ?? 0], []) },
    nodes: [
      {
        op: 'Loop',
        inputs: [opts.withM ? 'M' : '', 'cond', 'zero'],
        outputs: ['acc', 'scans'],
        attrs: {
          body: graphAttr({
            name: 'body',
            inputs: [
              { name: 'i', dtype: DType.int64, shape: [] },
              { name: 'cond_in', dtype: DType.bool, shape: [] },
              { name: 'acc_in', dtype: F },
            ],
            outputs: [
              { name: 'cond_out', dtype: DType.bool, shape: [] },
              { name: 'acc_out', dtype: F },
              { name: 'scan', dtype: F, shape: [2] },
            ],
            nodes: bodyNodes,
          }),
        },
      },
    ],
  });
}

test('Loop: trip count, loop-carried value, scan output stacked on axis 0', () => {
  const s = createSession(loopModel({ withM: true }));
  const r = s.run({ x: f32([1, 0.5]), M: i64([3], []) });
  assert.deepEqual(vals(r.outputs.acc!), [3, 1.5]);
  assert.deepEqual(r.outputs.scans!.shape, [3, 2]);
  assert.deepEqual(vals(r.outputs.scans!), [1, 0.5, 2, 1, 3, 1.5]);
  // Zero iterations: carried values pass through, scan outputs are empty with the declared shape.
  const z = s.run({ x: f32([1, 0.5]), M: i64([0], []) });
  assert.deepEqual(vals(z.outputs.acc!), [0, 0]);
  assert.deepEqual(z.outputs.scans!.shape, [0, 2]);
});

test('Loop: stops when the body condition turns false', () => {
  const s = createSession(loopModel({ withM: false, condLimit: 4 }));
  // cond_out = i < 4 is computed after iteration i, so iterations 0..4 run.
  const r = s.run({ x: f32([1, 2]) });
  assert.deepEqual(vals(r.outputs.acc!), [5, 10]);
});

test('Loop: no M and a condition that stays true fails with a typed error at the iteration cap', () => {
  const s = createSession(loopModel({ withM: false }), { maxLoopIterations: 50 });
  throwsCode(() => s.run({ x: f32([1, 2]) }), 'TOO_EXPENSIVE', (d) => d.limit === 50 && d.node === 0);
});

test('Loop: the tensor size cap applies inside the body', () => {
  const s = createSession(loopModel({ withM: true }), { maxTensorBytes: 16 });
  // acc is 8 bytes, but the stacked scan output of 3 iterations is 24 bytes.
  throwsCode(() => s.run({ x: f32([1, 2]), M: i64([3], []) }), 'TENSOR_TOO_LARGE');
});

test('Scan (opset 9+): running sum with reversed input and output axis 1', () => {
  const model = buildModel({
    opset: 11,
    inputs: [
      { name: 'init', dtype: F, shape: [2] },
      { name: 'xs', dtype: F, shape: [3, 2] },
    ],
    outputs: [
      { name: 'final', dtype: F },
      { name: 'ys', dtype: F },
    ],
    nodes: [
      {
        op: 'Scan',
        inputs: ['init', 'xs'],
        outputs: ['final', 'ys'],
        attrs: {
          num_scan_inputs: 1,
          scan_input_directions: [1],
          scan_output_axes: [1],
          body: graphAttr({
            inputs: [
              { name: 's_in', dtype: F, shape: [2] },
              { name: 'x', dtype: F, shape: [2] },
            ],
            outputs: [
              { name: 's_out', dtype: F, shape: [2] },
              { name: 'y', dtype: F, shape: [2] },
            ],
            nodes: [
              { op: 'Add', inputs: ['s_in', 'x'], outputs: ['s_out'] },
              { op: 'Identity', inputs: ['s_out'], outputs: ['y'] },
            ],
          }),
        },
      },
    ],
  });
  const r = createSession(model).run({ init: f32([0, 0]), xs: f32([1, 10, 2, 20, 3, 30], [3, 2]) });
  assert.deepEqual(vals(r.outputs.final!), [6, 60]);
  // Iterations see rows 2, 1, 0: sums [3,30], [5,50], [6,60], stacked along axis 1.
  assert.deepEqual(r.outputs.ys!.shape, [2, 3]);
  assert.deepEqual(vals(r.outputs.ys!), [3, 5, 6, 30, 50, 60]);
});

test('control flow: an unsupported op inside a subgraph is reported when the session is created', () => {
  const spec: BuildSpec = structuredClone({ ...ifSpec, nodes: ifSpec.nodes.slice(0, 2) });
  spec.nodes.push({
    op: 'If',
    inputs: ['c'],
    outputs: ['out'],
    attrs: {
      then_branch: graphAttr({ inputs: [], outputs: [{ name: 't', dtype: F }], nodes: [{ op: 'NoSuchOp', inputs: ['x'], outputs: ['t'] }] }),
      else_branch: graphAttr({ inputs: [], outputs: [{ name: 'x', dtype: F }], nodes: [] }),
    },
  });
  throwsCode(() => createSession(buildModel(spec)), 'UNSUPPORTED_OP');
});
