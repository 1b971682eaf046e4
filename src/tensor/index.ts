export * from './dtype.js';
export * from './tensor.js';
export * from './canonical.js';
export * from './float16.js';
export * from './json.js';
