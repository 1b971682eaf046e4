// The model store layer (Node only: files and processes). See README.md.
export * from './blockstore.js';
export * from './lock.js';
export * from './metadata.js';
export * from './report.js';
export * from './store.js';
export * from './version.js';
