import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import { it } from 'node:test'

// Core's README shows src/peer-bans.ts as *the* way to write a plugin; this keeps the text a reader copies the code
// that compiles and passes the tests here. (Tests run from dist/test, two levels below the package.)
it('core\'s README shows src/peer-bans.ts word for word', async () => {
  const source = await readFile(new URL('../../src/peer-bans.ts', import.meta.url), 'utf8')
  const readme = await readFile(new URL('../../../../packages/core/README.md', import.meta.url), 'utf8')
  const block = /<!-- plugin-example:start -->\n```ts\n([\s\S]*?)```\n<!-- plugin-example:end -->/.exec(readme)
  assert.ok(block !== null, 'packages/core/README.md has no plugin-example block')
  assert.equal(block[1], source, 'packages/core/README.md and src/peer-bans.ts differ: copy the file into the README block')
})
