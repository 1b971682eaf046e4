import type { KernelTable } from '../kernel.js';

export const ops: KernelTable = {};
