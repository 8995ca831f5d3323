// W3: an HTTP server doing some JSON work per request. Prints its port on stdout once listening;
// closes and exits normally on SIGTERM (so profilers that write at exit get to write).
'use strict';
const http = require('node:http');

function render(count) {
  const rows = [];
  for (let i = 0; i < count; i++) rows.push({ id: i, name: `row ${i}`, score: (i * 37) % 101, tags: ['x', 'y'] });
  const text = JSON.stringify({ rows });
  return JSON.stringify(JSON.parse(text).rows.filter((row) => row.score > 50));
}

const server = http.createServer((request, response) => {
  const body = render(200);
  response.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  response.end(body);
});
server.listen(0, '127.0.0.1', () => process.stdout.write(`${server.address().port}\n`));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
setInterval(() => {}, 1 << 30).unref();
