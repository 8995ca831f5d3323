// W3: an HTTP server doing some JSON work per request. Prints its port on stdout once listening;
// closes and exits normally on SIGTERM (so profilers that write at exit get to write). With
// BENCH_LABELS=1 every request is labelled with its route (sfprof's withLabels), as an app that
// wants CPU per route would do.
'use strict';
const http = require('node:http');
const path = require('node:path');

const labelled = process.env.BENCH_LABELS === '1' ? require(path.join(__dirname, '..', '..', 'dist', 'bundle', 'index.js')) : undefined;

function render(count) {
  const rows = [];
  for (let i = 0; i < count; i++) rows.push({ id: i, name: `row ${i}`, score: (i * 37) % 101, tags: ['x', 'y'] });
  const text = JSON.stringify({ rows });
  return JSON.stringify(JSON.parse(text).rows.filter((row) => row.score > 50));
}

function handle(request, response) {
  const body = render(200);
  response.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  response.end(body);
}

const server = http.createServer(
  labelled ? (request, response) => labelled.withLabels({ route: request.url ?? '/' }, () => handle(request, response)) : handle,
);
server.listen(0, '127.0.0.1', () => process.stdout.write(`${server.address().port}\n`));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
setInterval(() => {}, 1 << 30).unref();
