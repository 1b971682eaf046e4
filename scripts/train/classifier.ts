// A tabular softmax classifier: standardise -> MLP (ReLU) -> Softmax, exported with
// the standardisation inside the graph so a user feeds raw feature values.
import { buildModel } from '../../src/onnx/build.js';
import { SEMANTICS_VERSION } from '../../src/engine/session.js';
import { DType } from '../../src/tensor/dtype.js';
import { addDense, addStandardize, runEngine, type Graph, type TrainedModel } from './export.js';
import {
  accuracy,
  Adam,
  argmax,
  fitStandardizer,
  majorityBaseline,
  MLP,
  mulberry32,
  round6,
  roundStandardizer,
  softmaxCrossEntropy,
  standardize,
  train,
} from './nn.js';

export interface Feature {
  name: string;
  description: string;
}

/** Rows of raw features with integer class labels and a fixed train/test split. */
export interface ClassificationData {
  rows: number[][];
  labels: number[];
  train: number[];
  test: number[];
}

export interface ClassifierSpec {
  name: string;
  description: string;
  tags: string[];
  license: string;
  features: Feature[];
  classes: string[];
  data: ClassificationData;
  /** Describes the training data for the metadata (source, license, file digest, split...). */
  dataInfo: Record<string, unknown>;
  trainCommand: string;
  hidden: number[];
  epochs: number;
  batchSize: number;
  lr: number;
  weightDecay: number;
  seed: number;
}

export function trainClassifier(spec: ClassifierSpec): TrainedModel {
  const { data, features, classes } = spec;
  const F = features.length;
  const trainRows = data.train.map((i) => data.rows[i]!);
  const scaler = roundStandardizer(fitStandardizer(trainRows));
  const X = trainRows.map((r) => standardize(r, scaler));
  const y = data.train.map((i) => data.labels[i]!);

  const net = new MLP([F, ...spec.hidden, classes.length], 'relu', mulberry32(spec.seed));
  const opt = new Adam(net, { lr: spec.lr, weightDecay: spec.weightDecay });
  const lossHistory = train(net, opt, {
    epochs: spec.epochs,
    batchSize: spec.batchSize,
    seed: spec.seed + 1,
    n: X.length,
    input: (i) => X[i]!,
    loss: (out, i, grad) => softmaxCrossEntropy(out, y[i]!, grad),
  });
  net.roundToFloat32();

  const g: Graph = { nodes: [], initializers: {} };
  addStandardize(g, 'features', 'x0', scaler);
  let cur = 'x0';
  net.layers.forEach((layer, l) => {
    const last = l + 1 === net.layers.length;
    addDense(g, layer, cur, last ? 'logits' : `h${l}`, `dense${l}`);
    if (!last) {
      g.nodes.push({ op: 'Relu', inputs: [`h${l}`], outputs: [`a${l}`], name: `relu${l}` });
      cur = `a${l}`;
    }
  });
  g.nodes.push({ op: 'Softmax', inputs: ['logits'], outputs: ['probabilities'], attrs: { axis: -1 }, name: 'softmax' });
  g.nodes.push({ op: 'ArgMax', inputs: ['probabilities'], outputs: ['label'], attrs: { axis: 1, keepdims: 0 }, name: 'argmax' });
  const onnx = buildModel({
    name: spec.name,
    opset: 17,
    inputs: [{ name: 'features', dtype: DType.float32, shape: ['batch', F] }],
    outputs: [
      { name: 'probabilities', dtype: DType.float32, shape: ['batch', classes.length] },
      { name: 'label', dtype: DType.int64, shape: ['batch'] },
    ],
    initializers: g.initializers,
    nodes: g.nodes,
  });

  // Measure through the engine: the shipped float32 graph, not the float64 training network.
  const evalSplit = (idx: number[]) => {
    const out = runEngine(onnx, idx.map((i) => data.rows[i]!));
    const C = classes.length;
    const p = out.probabilities!.data as Float32Array;
    const pred = idx.map((_, k) => argmax(p.subarray(k * C, (k + 1) * C)));
    return accuracy(pred, idx.map((i) => data.labels[i]!));
  };
  const testLabels = data.test.map((i) => data.labels[i]!);
  const baseline = majorityBaseline(y, testLabels);
  const first = data.test[0]!;

  const metadata = {
    name: spec.name,
    version: '1.0.0',
    description: spec.description,
    task: 'classification',
    license: spec.license,
    tags: spec.tags,
    inputs: [
      {
        name: 'features',
        dtype: 'float32',
        shape: ['batch', F],
        description: 'raw feature values, one row per example, in this column order (the graph standardises them)',
        features,
      },
    ],
    outputs: [
      { name: 'probabilities', dtype: 'float32', shape: ['batch', classes.length], description: 'softmax class probabilities, columns in the order of `labels`' },
      { name: 'label', dtype: 'int64', shape: ['batch'], description: 'index into `labels` of the most probable class (ArgMax of probabilities, first on ties)' },
    ],
    labels: classes,
    architecture: {
      graph: `Sub/Div (standardise) -> ${net.layers.map((l, i) => `Gemm ${l.inputs}x${l.outputs}${i + 1 < net.layers.length ? ' -> Relu' : ''}`).join(' -> ')} -> Softmax -> ArgMax`,
      opset: 17,
      parameters: net.layers.reduce((n, l) => n + l.W.length + l.b.length, 0),
    },
    training: {
      command: spec.trainCommand,
      data: spec.dataInfo,
      split: { train: data.train.length, test: data.test.length },
      standardisation: 'per-feature mean and population standard deviation of the train split, rounded to float32',
      optimiser: { name: 'Adam', lr: spec.lr, weightDecay: spec.weightDecay, epochs: spec.epochs, batchSize: spec.batchSize, seed: spec.seed },
      loss: 'softmax cross-entropy',
      finalTrainLoss: round6(lossHistory[lossHistory.length - 1]!),
    },
    metrics: {
      measuredWith: `verinfer engine (${SEMANTICS_VERSION}) on the shipped float32 model`,
      testAccuracy: round6(evalSplit(data.test)),
      trainAccuracy: round6(evalSplit(data.train)),
      baselines: { majorityClass: { label: classes[baseline.label], testAccuracy: round6(baseline.accuracy) } },
    },
    example: { input: `${spec.name}.input.json`, row: `test row ${first} of the data set`, label: classes[data.labels[first]!] },
  };
  return { name: spec.name, onnx, metadata, example: { features: { dims: [1, F], data: data.rows[first]! } }, lossHistory };
}
