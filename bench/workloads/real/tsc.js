// A real compiler: TypeScript type-checks a generated project of classes, generics and unions, again
// and again, for NAMES_SECONDS of wall time (default 6).
'use strict';
const ts = require('typescript');

const files = new Map();
for (let m = 0; m < 12; m++) {
  let text = `export interface Shape${m}<T> { kind: 'a${m}' | 'b${m}'; value: T; next?: Shape${m}<T> }\n`;
  for (let c = 0; c < 12; c++) {
    text += `export class Node${m}_${c}<T extends { id: number }> {\n  items: T[] = [];\n`;
    text += `  add(item: T): this { this.items.push(item); return this; }\n`;
    text += `  find(id: number): T | undefined { return this.items.find((x) => x.id === id); }\n`;
    text += `  map<U>(f: (x: T) => U): U[] { return this.items.map(f); }\n`;
    text += `  shape(): Shape${m}<T[]> { return { kind: ${c % 2 ? `'a${m}'` : `'b${m}'`}, value: this.items }; }\n}\n`;
  }
  if (m > 0) text += `import { Node${m - 1}_0 } from './m${m - 1}';\nexport const link${m} = new Node${m - 1}_0<{ id: number; name: string }>().add({ id: 1, name: 'x' }).map((x) => x.name.length);\n`;
  files.set(`/p/m${m}.ts`, text);
}
const options = { strict: true, target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext, noEmit: true, lib: ['lib.es2022.d.ts'] };
const libDir = require('node:path').dirname(require.resolve('typescript'));
const host = ts.createCompilerHost(options);
const readFile = host.readFile.bind(host);
host.readFile = (name) => files.get(name) ?? readFile(name);
host.fileExists = (name) => files.has(name) || ts.sys.fileExists(name);
host.getDefaultLibLocation = () => libDir;

const deadline = Date.now() + 1000 * Number(process.env.NAMES_SECONDS ?? 6);
let diagnostics = 0;
while (Date.now() < deadline) {
  const program = ts.createProgram([...files.keys()], options, host);
  diagnostics += ts.getPreEmitDiagnostics(program).length;
}
if (process.env.NAMES_VERBOSE) console.log('diagnostics', diagnostics);
