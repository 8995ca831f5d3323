// A real template engine: Handlebars compiles templates with helpers, partials and loops and renders
// them over generated data, for NAMES_SECONDS of wall time (default 6).
'use strict';
const Handlebars = require('handlebars');

const source = `<ul>{{#each users}}<li class="{{#if active}}on{{else}}off{{/if}}">{{> card this}} {{upper name}}
{{#each tags}}<b>{{this}}</b>{{/each}}</li>{{/each}}</ul>`;
const data = { users: Array.from({ length: 200 }, (_, i) => ({ name: `user${i}`, active: i % 3 === 0, email: `u${i}@example.com`, tags: ['a', 'b', String(i)] })) };
const deadline = Date.now() + 1000 * Number(process.env.NAMES_SECONDS ?? 6);
let length = 0;
let round = 0;
while (Date.now() < deadline) {
  const env = Handlebars.create();
  env.registerHelper('upper', (s) => String(s).toUpperCase());
  env.registerPartial('card', '<span title="{{email}}">{{name}}</span>');
  const template = env.compile(source + `<!-- ${round++} -->`);
  for (let i = 0; i < 20; i++) length += template(data).length;
}
if (process.env.NAMES_VERBOSE) console.log('html', length);
