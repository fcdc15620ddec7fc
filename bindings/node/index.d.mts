// TypeScript declarations for the ESM entry (index.mjs): the same API as index.d.ts.
export * from './index.js';
import sessionstore from './index.js';
export default sessionstore;
