// A real parser: acorn parses real library sources and walks the trees, for NAMES_SECONDS of wall time (default 6).
'use strict';
const fs = require('node:fs');
const acorn = require('acorn');

// Real sources from this project's dependencies (a bundle, a library, a parser).
const path = require('node:path');
const modules = path.join(path.dirname(require.resolve('acorn')), '..', '..');
const inputs = ['handlebars/dist/handlebars.js', 'acorn/dist/acorn.js', 'marked/lib/marked.esm.js']
  .map((name) => fs.readFileSync(path.join(modules, name), 'utf8'));
const deadline = Date.now() + 1000 * Number(process.env.NAMES_SECONDS ?? 6);
let nodes = 0;
function count(node) {
  if (!node || typeof node.type !== 'string') return;
  nodes++;
  for (const key in node) {
    const value = node[key];
    if (Array.isArray(value)) for (const child of value) count(child);
    else if (value && typeof value === 'object') count(value);
  }
}
while (Date.now() < deadline) {
  for (const input of inputs) count(acorn.parse(input, { ecmaVersion: 'latest', sourceType: 'module', locations: true }));
}
if (process.env.NAMES_VERBOSE) console.log('nodes', nodes);
