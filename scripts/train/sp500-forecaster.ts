// sp500-forecaster: from the last 17 daily closes of the S&P 500 (16 log-returns),
// the probability that the next day's return is positive, a point forecast of the
// next day's log-return and of its absolute value (a one-day volatility forecast)
// (vega-datasets sp500-2000.csv, 2000-01-03 .. 2020-04-17).
//
//   node --import tsx scripts/train/sp500-forecaster.ts
//
// Daily index returns are close to unpredictable from their own past (the direction
// and return heads do not beat the naive baselines); their size is not (volatility
// clusters), and the volatility head does beat its baselines. This is a sample of a
// financial model running verifiably, not a trading signal. The metadata reports
// every test metric next to its naive baselines.
//
// Hyperparameters were chosen on a validation tail of the train split (the last
// 20% of it, 2012-2016) among hidden {4, 8, 16} x epochs {5, 15, 30} x weight decay
// {1e-3, 1e-2} x lr {1e-3, 3e-3}; the test split was not used to choose them.
import { buildModel } from '../../src/onnx/build.js';
import { SEMANTICS_VERSION } from '../../src/engine/session.js';
import { DType } from '../../src/tensor/dtype.js';
import { Tensor } from '../../src/tensor/tensor.js';
import { num, parseCsv, readDataFile, VEGA_DATASETS } from './data.js';
import { addDense, addStandardize, f32, isMain, runEngine, writeModel, type Graph, type TrainedModel } from './export.js';
import {
  Adam,
  fitStandardizer,
  log,
  MLP,
  mulberry32,
  round6,
  roundStandardizer,
  sigmoidCrossEntropy,
  squaredError,
  standardize,
  train,
} from './nn.js';

export const NAME = 'sp500-forecaster';
/** Number of past log-returns the model sees (it takes WINDOW + 1 closes). */
export const WINDOW = 16;
const TEST_FRACTION = 0.2;
/** Weight of each regression loss next to the direction (logistic) loss. */
const RETURN_LOSS_WEIGHT = 1;
const HIDDEN = 16;
const EPOCHS = 30;
const BATCH = 64;
const LR = 0.003;
const WEIGHT_DECAY = 1e-2;
const SEED = 7;

export interface ForecastData {
  dates: string[];
  closes: number[];
  /** Sample k: raw input = closes[t-WINDOW .. t], target = log(closes[t+1] / closes[t]). */
  windows: number[][];
  targets: number[];
  /** Date of the target day of each sample. */
  targetDates: string[];
  /** Chronological split: the first 80% of samples train, the last 20% test. */
  train: number[];
  test: number[];
  sha256: string;
}

export function sp500Data(): ForecastData {
  const file = readDataFile('sp500-2000.csv');
  const rows = parseCsv(file.text);
  const dates = rows.map((r) => r.date!);
  const closes = rows.map((r) => num(r.close, `${r.date} close`));
  for (let i = 1; i < dates.length; i++) if (!(dates[i]! > dates[i - 1]!)) throw new Error(`dates out of order at ${dates[i]}`);
  const windows: number[][] = [];
  const targets: number[] = [];
  const targetDates: string[] = [];
  for (let t = WINDOW; t + 1 < closes.length; t++) {
    windows.push(closes.slice(t - WINDOW, t + 1));
    targets.push(log(closes[t + 1]! / closes[t]!));
    targetDates.push(dates[t + 1]!);
  }
  const nTrain = Math.round(windows.length * (1 - TEST_FRACTION));
  const idx = windows.map((_, k) => k);
  return { dates, closes, windows, targets, targetDates, train: idx.slice(0, nTrain), test: idx.slice(nTrain), sha256: file.sha256 };
}

/** The WINDOW log-returns of a window of WINDOW + 1 closes (the features the graph computes). */
export function logReturns(window: readonly number[]): number[] {
  return window.slice(1).map((c, i) => log(c / window[i]!));
}

export interface Forecasts {
  pUp: ArrayLike<number>;
  nextReturn: ArrayLike<number>;
  nextAbsReturn: ArrayLike<number>;
}

const sig = (x: number) => Number(x.toPrecision(6));

/**
 * Metrics of forecasts against realised next returns, each next to naive baselines:
 * direction (always up, same as the last day, the train up-rate as probability),
 * return (zero, the train mean) and absolute return (the train mean, the mean
 * absolute return of the input window).
 */
export function forecastMetrics(f: Forecasts, actual: readonly number[], windows: readonly (readonly number[])[], trainActual: readonly number[]) {
  const n = actual.length;
  const trainUpRate = trainActual.filter((r) => r > 0).length / trainActual.length;
  const trainMean = trainActual.reduce((a, b) => a + b, 0) / trainActual.length;
  const trainMeanAbs = trainActual.reduce((a, b) => a + Math.abs(b), 0) / trainActual.length;
  const acc = { model: 0, alwaysUp: 0, lastDay: 0, predictedUp: 0 };
  const brier = { model: 0, constant: 0 };
  const mse = { model: 0, zero: 0, trainMean: 0 };
  const absMse = { model: 0, trainMean: 0, window: 0 };
  for (let k = 0; k < n; k++) {
    const r = actual[k]!;
    const up = r > 0 ? 1 : 0;
    const p = f.pUp[k]!;
    const returns = logReturns(windows[k]!);
    acc.model += (p > 0.5 ? 1 : 0) === up ? 1 : 0;
    acc.predictedUp += p > 0.5 ? 1 : 0;
    acc.alwaysUp += up;
    acc.lastDay += (returns[returns.length - 1]! > 0 ? 1 : 0) === up ? 1 : 0;
    brier.model += (p - up) * (p - up);
    brier.constant += (trainUpRate - up) * (trainUpRate - up);
    mse.model += (f.nextReturn[k]! - r) * (f.nextReturn[k]! - r);
    mse.zero += r * r;
    mse.trainMean += (trainMean - r) * (trainMean - r);
    const windowAbs = returns.reduce((a, b) => a + Math.abs(b), 0) / returns.length;
    absMse.model += (f.nextAbsReturn[k]! - Math.abs(r)) * (f.nextAbsReturn[k]! - Math.abs(r));
    absMse.trainMean += (trainMeanAbs - Math.abs(r)) * (trainMeanAbs - Math.abs(r));
    absMse.window += (windowAbs - Math.abs(r)) * (windowAbs - Math.abs(r));
  }
  return {
    samples: n,
    direction: {
      accuracy: round6(acc.model / n),
      predictedUpFraction: round6(acc.predictedUp / n),
      brierScore: round6(brier.model / n),
      baselines: {
        alwaysUp: { accuracy: round6(acc.alwaysUp / n) },
        sameAsLastDay: { accuracy: round6(acc.lastDay / n) },
        trainUpRate: { pUp: round6(trainUpRate), brierScore: round6(brier.constant / n) },
      },
    },
    nextReturn: {
      mse: sig(mse.model / n),
      baselines: { zero: { mse: sig(mse.zero / n) }, trainMean: { value: sig(trainMean), mse: sig(mse.trainMean / n) } },
    },
    nextAbsReturn: {
      mse: sig(absMse.model / n),
      baselines: {
        trainMean: { value: sig(trainMeanAbs), mse: sig(absMse.trainMean / n) },
        windowMeanAbsReturn: { mse: sig(absMse.window / n) },
      },
    },
  };
}

export function trainSp500(): TrainedModel {
  const data = sp500Data();
  const F = WINDOW + 1;
  const trainFeatures = data.train.map((k) => logReturns(data.windows[k]!));
  const scaler = roundStandardizer(fitStandardizer(trainFeatures));
  const X = trainFeatures.map((r) => standardize(r, scaler));
  const trainTargets = data.train.map((k) => data.targets[k]!);
  // the two regression heads learn train-standardised targets: r and |r|
  const target = roundStandardizer(fitStandardizer(trainTargets.map((r) => [r, Math.abs(r)])));
  const [tMean, tStd, aMean, aStd] = [target.mean[0]!, target.std[0]!, target.mean[1]!, target.std[1]!];

  const net = new MLP([WINDOW, HIDDEN, 3], 'relu', mulberry32(SEED));
  const opt = new Adam(net, { lr: LR, weightDecay: WEIGHT_DECAY });
  const lossHistory = train(net, opt, {
    epochs: EPOCHS,
    batchSize: BATCH,
    seed: SEED + 1,
    n: X.length,
    input: (i) => X[i]!,
    loss: (out, i, grad) => {
      const r = trainTargets[i]!;
      const [l1, g1] = sigmoidCrossEntropy(out[0]!, r > 0 ? 1 : 0);
      const [l2, g2] = squaredError(out[1]!, (r - tMean) / tStd);
      const [l3, g3] = squaredError(out[2]!, (Math.abs(r) - aMean) / aStd);
      grad[0] = g1;
      grad[1] = RETURN_LOSS_WEIGHT * g2;
      grad[2] = RETURN_LOSS_WEIGHT * g3;
      return l1 + RETURN_LOSS_WEIGHT * (l2 + l3);
    },
  });
  net.roundToFloat32();

  // features [batch, 17 closes] -> log-returns [batch, 16] -> standardise -> MLP -> three heads
  const i64 = (v: number[]) => new Tensor(DType.int64, [v.length], BigInt64Array.from(v.map(BigInt)));
  const g: Graph = {
    nodes: [
      { op: 'Slice', inputs: ['features', 'later_start', 'later_end', 'axis1'], outputs: ['later'], name: 'closes_later' },
      { op: 'Slice', inputs: ['features', 'earlier_start', 'earlier_end', 'axis1'], outputs: ['earlier'], name: 'closes_earlier' },
      { op: 'Div', inputs: ['later', 'earlier'], outputs: ['ratio'], name: 'gross_return' },
      { op: 'Log', inputs: ['ratio'], outputs: ['log_returns'], name: 'log_return' },
    ],
    initializers: { later_start: i64([1]), later_end: i64([F]), earlier_start: i64([0]), earlier_end: i64([F - 1]), axis1: i64([1]) },
  };
  addStandardize(g, 'log_returns', 'x0', scaler);
  addDense(g, net.layers[0]!, 'x0', 'h0', 'dense0');
  g.nodes.push({ op: 'Relu', inputs: ['h0'], outputs: ['a0'], name: 'relu0' });
  addDense(g, net.layers[1]!, 'a0', 'up_logit', 'head_up', [0]);
  g.nodes.push({ op: 'Sigmoid', inputs: ['up_logit'], outputs: ['p_up'], name: 'sigmoid' });
  addDense(g, net.layers[1]!, 'a0', 'return_z', 'head_return', [1]);
  g.initializers.return_std = f32([1], [tStd]);
  g.initializers.return_mean = f32([1], [tMean]);
  g.nodes.push({ op: 'Mul', inputs: ['return_z', 'return_std'], outputs: ['return_scaled'], name: 'return_unscale_mul' });
  g.nodes.push({ op: 'Add', inputs: ['return_scaled', 'return_mean'], outputs: ['next_return'], name: 'return_unscale_add' });
  addDense(g, net.layers[1]!, 'a0', 'abs_return_z', 'head_abs_return', [2]);
  g.initializers.abs_return_std = f32([1], [aStd]);
  g.initializers.abs_return_mean = f32([1], [aMean]);
  g.nodes.push({ op: 'Mul', inputs: ['abs_return_z', 'abs_return_std'], outputs: ['abs_return_scaled'], name: 'abs_return_unscale_mul' });
  g.nodes.push({ op: 'Add', inputs: ['abs_return_scaled', 'abs_return_mean'], outputs: ['abs_return_raw'], name: 'abs_return_unscale_add' });
  g.nodes.push({ op: 'Relu', inputs: ['abs_return_raw'], outputs: ['next_abs_return'], name: 'abs_return_clamp' });
  const onnx = buildModel({
    name: NAME,
    opset: 17,
    inputs: [{ name: 'features', dtype: DType.float32, shape: ['batch', F] }],
    outputs: [
      { name: 'p_up', dtype: DType.float32, shape: ['batch', 1] },
      { name: 'next_return', dtype: DType.float32, shape: ['batch', 1] },
      { name: 'next_abs_return', dtype: DType.float32, shape: ['batch', 1] },
    ],
    initializers: g.initializers,
    nodes: g.nodes,
  });

  // Measure through the engine on the chronological test split.
  const evalSplit = (idx: number[]) => {
    const windows = idx.map((k) => data.windows[k]!);
    const out = runEngine(onnx, windows);
    const forecasts = { pUp: out.p_up!.data as Float32Array, nextReturn: out.next_return!.data as Float32Array, nextAbsReturn: out.next_abs_return!.data as Float32Array };
    return forecastMetrics(forecasts, idx.map((k) => data.targets[k]!), windows, trainTargets);
  };
  const first = data.test[0]!;
  const test = evalSplit(data.test);
  const cmp = (a: number, b: number, lowerIsBetter: boolean) => ((lowerIsBetter ? a < b : a > b) ? 'better than' : 'not better than');
  const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
  const summary =
    `test ${data.targetDates[first]} .. ${data.targetDates[data.test[data.test.length - 1]!]}: ` +
    `direction accuracy ${pct(test.direction.accuracy)}, ${cmp(test.direction.accuracy, test.direction.baselines.alwaysUp.accuracy, false)} always-up ${pct(test.direction.baselines.alwaysUp.accuracy)}; ` +
    `next_return MSE ${test.nextReturn.mse}, ${cmp(test.nextReturn.mse, test.nextReturn.baselines.zero.mse, true)} predicting 0 (${test.nextReturn.baselines.zero.mse}); ` +
    `next_abs_return MSE ${test.nextAbsReturn.mse}, ${cmp(test.nextAbsReturn.mse, Math.min(test.nextAbsReturn.baselines.windowMeanAbsReturn.mse, test.nextAbsReturn.baselines.trainMean.mse), true)} the best baseline (window mean |return| ${test.nextAbsReturn.baselines.windowMeanAbsReturn.mse}, train mean ${test.nextAbsReturn.baselines.trainMean.mse})`;
  const metadata = {
    name: NAME,
    version: '1.0.0',
    description:
      'Forecasts the next trading day of the S&P 500 index from its last 17 daily closes: the probability that the next log-return is positive (p_up), a point forecast of that log-return (next_return) and of its absolute value (next_abs_return, a one-day volatility forecast). A 16-16-3 MLP with the log-return computation and standardisation inside the graph, trained by Verinfer on daily closes 2000-2016 and tested on 2016-2020. Daily index returns are nearly unpredictable from past returns: on the test years p_up and next_return do not beat the naive baselines (always up; zero return); next_abs_return does beat its baselines. A demo of a verifiable financial model, not a trading signal.',
    task: 'time-series-forecasting',
    license: 'BSD-3-Clause',
    tags: ['finance', 'forecasting', 'time-series', 'sp500', 'sample', 'mlp'],
    inputs: [
      {
        name: 'features',
        dtype: 'float32',
        shape: ['batch', F],
        description: `the last ${F} daily closing values of the S&P 500 index, oldest first (close[t-${WINDOW}] .. close[t]); any price level works, the graph uses ratios of consecutive closes`,
        features: Array.from({ length: F }, (_, j) => ({ name: `close_t${j === WINDOW ? '' : `-${WINDOW - j}`}`, description: `daily close ${WINDOW - j} trading day(s) before the forecast origin t` })),
      },
    ],
    outputs: [
      { name: 'p_up', dtype: 'float32', shape: ['batch', 1], description: 'probability that log(close[t+1] / close[t]) > 0' },
      { name: 'next_return', dtype: 'float32', shape: ['batch', 1], description: 'forecast of the next daily log-return log(close[t+1] / close[t])' },
      { name: 'next_abs_return', dtype: 'float32', shape: ['batch', 1], description: 'forecast of |log(close[t+1] / close[t])|, the size of the next daily move (a one-day volatility forecast), clamped at 0' },
    ],
    architecture: {
      graph: `Slice/Div/Log (log-returns) -> Sub/Div (standardise) -> Gemm ${WINDOW}x${HIDDEN} -> Relu -> {Gemm ${HIDDEN}x1 -> Sigmoid = p_up; Gemm ${HIDDEN}x1 -> Mul/Add (unstandardise) = next_return; Gemm ${HIDDEN}x1 -> Mul/Add -> Relu = next_abs_return}`,
      opset: 17,
      parameters: net.layers.reduce((n, l) => n + l.W.length + l.b.length, 0),
    },
    training: {
      command: 'node --import tsx scripts/train/sp500-forecaster.ts',
      data: {
        dataset: 'S&P 500 daily index values 2000-2020',
        file: `${VEGA_DATASETS.name}@${VEGA_DATASETS.version}/data/sp500-2000.csv`,
        sha256: data.sha256,
        column: 'close',
        source: 'Yahoo Finance (^GSPC daily history), as distributed in vega-datasets',
        license: `vega-datasets declares no dataset-specific license for sp500-2000.csv; the package is ${VEGA_DATASETS.license}. The underlying index values come from Yahoo Finance; check their terms before redistributing the data itself.`,
        rows: data.closes.length,
        samples: data.windows.length,
        split: `chronological: first ${data.train.length} samples train (targets ${data.targetDates[data.train[0]!]} .. ${data.targetDates[data.train[data.train.length - 1]!]}), last ${data.test.length} test (targets ${data.targetDates[first]} .. ${data.targetDates[data.test[data.test.length - 1]!]})`,
      },
      standardisation: 'per-position mean and population standard deviation of the train-split log-returns; the two regression heads are trained on train-standardised targets. Constants rounded to float32',
      hyperparameterSelection: 'grid over hidden {4, 8, 16} x epochs {5, 15, 30} x weight decay {1e-3, 1e-2} x lr {1e-3, 3e-3}, scored on the last 20% of the train split (2012-2016); the test split was not used',
      optimiser: { name: 'Adam', lr: LR, weightDecay: WEIGHT_DECAY, epochs: EPOCHS, batchSize: BATCH, seed: SEED },
      loss: `sigmoid cross-entropy of the direction (up = return > 0) + ${RETURN_LOSS_WEIGHT} x (squared errors of the standardised return and absolute return) / 2`,
      finalTrainLoss: round6(lossHistory[lossHistory.length - 1]!),
    },
    metrics: {
      measuredWith: `verinfer engine (${SEMANTICS_VERSION}) on the shipped float32 model`,
      directionRule: 'predict up when p_up > 0.5',
      summary,
      test,
      train: evalSplit(data.train),
    },
    example: { input: `${NAME}.input.json`, row: `closes ${data.dates[first]} .. ${data.targetDates[first - 1]}; forecast for ${data.targetDates[first]}`, actualNextReturn: Number(data.targets[first]!.toPrecision(6)) },
  };
  return { name: NAME, onnx, metadata, example: { features: { dims: [1, F], data: data.windows[first]! } }, lossHistory };
}

if (isMain(import.meta.url)) writeModel(trainSp500());
