// A real markdown parser: marked renders a generated document of headings, lists, tables, code and
// inline markup to HTML, for NAMES_SECONDS of wall time (default 6).
import { marked } from 'marked';

let doc = '';
for (let i = 0; i < 400; i++) {
  doc += `## Section ${i}\n\nSome *emphasis*, **strong**, \`code\`, a [link](https://example.com/${i}) and ~~strike~~.\n\n`;
  doc += `- item one ${i}\n- item two with _underline_\n  - nested ${i}\n\n`;
  doc += `| a | b | c |\n|---|---|---|\n| ${i} | ${i * 2} | ${i * 3} |\n\n`;
  doc += '```js\nconst x = ' + i + ';\n```\n\n> quoted text ' + i + '\n\n';
}
const deadline = Date.now() + 1000 * Number(process.env.NAMES_SECONDS ?? 6);
let length = 0;
while (Date.now() < deadline) length += marked.parse(doc).length;
if (process.env.NAMES_VERBOSE) console.log('html', length);
