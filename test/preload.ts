import { setDefaultTimeout } from 'bun:test'
import { mkdirSync } from 'node:fs'

// bunfig.toml's [test] timeout is ignored by this Bun; the preload is where it takes effect.
setDefaultTimeout(30_000)
process.env.NODE_ENV ??= 'test'
// bunfig.toml writes a JUnit report here, which .ci/run counts; Bun does not create the folder.
mkdirSync(new URL('../test-results', import.meta.url).pathname, { recursive: true })
