#!/usr/bin/env node
// Thin launcher: the compiled CLI lives in dist/ (built by `npm ci` through the prepare script).
import('../dist/cli/platter.js').catch((err) => {
  if (err && err.code === 'ERR_MODULE_NOT_FOUND' && String(err.message).includes('dist/cli/platter.js')) {
    console.error('platter: dist/ is missing; run `npm run build` (or `npm ci`) first.');
    process.exit(1);
  }
  throw err;
});
