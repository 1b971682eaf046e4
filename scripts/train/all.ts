// Trains every sample model and writes models/<name>.{onnx,json,input.json}.
//
//   node --import tsx scripts/train/all.ts            # (re)train and write
//   node --import tsx scripts/train/all.ts --check    # retrain in memory, compare with models/ byte for byte
//
// Training is deterministic (seeded, fixed order, basic float64 operations only),
// so re-running it reproduces the shipped files exactly.
import { existsSync, readFileSync } from 'node:fs';
import { isMain, modelFiles, MODELS_DIR, writeModel, type TrainedModel } from './export.js';
import { trainPenguins } from './penguins-classifier.js';
import { trainSp500 } from './sp500-forecaster.js';

export const TRAINERS: Record<string, () => TrainedModel> = {
  'penguins-classifier': trainPenguins,
  'sp500-forecaster': trainSp500,
};

/** Files under models/ that differ from (or are missing compared with) a fresh training run. */
export function checkModels(names = Object.keys(TRAINERS)): string[] {
  const problems: string[] = [];
  for (const name of names) {
    for (const [file, bytes] of Object.entries(modelFiles(TRAINERS[name]!()))) {
      const url = new URL(file, MODELS_DIR);
      if (!existsSync(url)) problems.push(`models/${file} is missing`);
      else if (!Buffer.from(bytes).equals(readFileSync(url))) problems.push(`models/${file} differs from what the training script produces`);
    }
  }
  return problems;
}

if (isMain(import.meta.url)) {
  if (process.argv.includes('--check')) {
    const t0 = performance.now();
    const problems = checkModels();
    if (problems.length) {
      for (const p of problems) console.error(p);
      console.error('run `node --import tsx scripts/train/all.ts` to retrain');
      process.exit(1);
    }
    console.log(`all ${Object.keys(TRAINERS).length} sample models reproduce byte for byte (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
  } else {
    for (const train of Object.values(TRAINERS)) writeModel(train());
  }
}
