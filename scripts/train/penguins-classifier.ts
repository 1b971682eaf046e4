// penguins-classifier: penguin species (Adelie, Chinstrap, Gentoo) from four body
// measurements of the Palmer Archipelago penguins (vega-datasets penguins.json).
//
//   node --import tsx scripts/train/penguins-classifier.ts
import { trainClassifier, type ClassificationData } from './classifier.js';
import { readDataFile, VEGA_DATASETS } from './data.js';
import { isMain, writeModel, type TrainedModel } from './export.js';
import { shuffleSplit } from './nn.js';

export const NAME = 'penguins-classifier';
export const CLASSES = ['Adelie', 'Chinstrap', 'Gentoo'];
const COLUMNS = ['Beak Length (mm)', 'Beak Depth (mm)', 'Flipper Length (mm)', 'Body Mass (g)'] as const;
export const FEATURES = [
  { name: 'beak_length_mm', description: 'culmen (beak) length in millimetres ("Beak Length (mm)")' },
  { name: 'beak_depth_mm', description: 'culmen (beak) depth in millimetres ("Beak Depth (mm)")' },
  { name: 'flipper_length_mm', description: 'flipper length in millimetres ("Flipper Length (mm)")' },
  { name: 'body_mass_g', description: 'body mass in grams ("Body Mass (g)")' },
];
const SPLIT_SEED = 20240601;

type Penguin = Record<(typeof COLUMNS)[number] | 'Species', number | string | null>;

/** The rows with all four measurements (342 of 344) and a seeded 80/20 shuffle split. */
export function penguinsData(): ClassificationData & { sha256: string; dropped: number } {
  const file = readDataFile('penguins.json');
  const all = JSON.parse(file.text) as Penguin[];
  const rows: number[][] = [];
  const labels: number[] = [];
  for (const p of all) {
    const x = COLUMNS.map((c) => p[c]);
    if (x.some((v) => typeof v !== 'number' || !Number.isFinite(v))) continue;
    const label = CLASSES.indexOf(p.Species as string);
    if (label < 0) throw new Error(`unknown species ${String(p.Species)}`);
    rows.push(x as number[]);
    labels.push(label);
  }
  return { rows, labels, ...shuffleSplit(rows.length, 0.2, SPLIT_SEED), sha256: file.sha256, dropped: all.length - rows.length };
}

export function trainPenguins(): TrainedModel {
  const data = penguinsData();
  return trainClassifier({
    name: NAME,
    description:
      'Predicts the species of a Palmer Archipelago penguin (Adelie, Chinstrap or Gentoo) from beak length, beak depth, flipper length and body mass. A 4-16-3 MLP trained by Verinfer on the palmerpenguins data.',
    tags: ['classification', 'tabular', 'biology', 'sample', 'mlp'],
    license: 'CC0-1.0',
    features: FEATURES,
    classes: CLASSES,
    data,
    dataInfo: {
      dataset: 'Palmer Archipelago penguins (palmerpenguins)',
      file: `${VEGA_DATASETS.name}@${VEGA_DATASETS.version}/data/penguins.json`,
      sha256: data.sha256,
      source: 'Dr. Kristen Gorman and the Palmer Station Antarctica LTER (https://pal.lternet.edu/), via Allison Horst\'s palmerpenguins (https://github.com/allisonhorst/palmerpenguins)',
      license: 'CC0-1.0 (https://github.com/allisonhorst/palmerpenguins?tab=CC0-1.0-1-ov-file#readme), as declared in vega-datasets datapackage.json',
      rows: data.rows.length,
      dropped: `${data.dropped} rows without measurements`,
      split: `seeded shuffle (mulberry32 seed ${SPLIT_SEED}), 20% test`,
    },
    trainCommand: 'node --import tsx scripts/train/penguins-classifier.ts',
    hidden: [16],
    epochs: 150,
    batchSize: 16,
    lr: 0.01,
    weightDecay: 1e-4,
    seed: 1,
  });
}

if (isMain(import.meta.url)) writeModel(trainPenguins());
