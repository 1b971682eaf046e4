export * from './model.js';
export * from './load.js';
export * from './tensorProto.js';
export * from './build.js';
