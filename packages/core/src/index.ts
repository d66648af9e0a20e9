export * from './errors.js';
export * from './activations.js';
export * from './spec.js';
export * from './normalization.js';
export * from './checkpoint.js';
export * from './bundle.js';
export * from './random.js';
export { AEKIT_VERSION } from './version.js';
