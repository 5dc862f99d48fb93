import { afterAll, setDefaultTimeout } from 'bun:test'
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

// Bun 1.4.5 ignores bunfig.toml's [test] timeout, and a preload's default reaches only the first
// test file of a run, so the README's command (`bun test --timeout 30000 --parallel=3`) sets it for
// all; this keeps the same default for a file run on its own with a plain `bun test <file>`.
setDefaultTimeout(30_000)
process.env.NODE_ENV ??= 'test'
// Media files of every test process (and the servers it starts) go to a folder of their own, never
// the repository's data/, removed when the process ends.
if (!process.env.MEDIA_DIR) {
	const mediaDir = mkdtempSync(join(tmpdir(), 'sb-media-'))
	process.env.MEDIA_DIR = mediaDir
	afterAll(() => rmSync(mediaDir, { recursive: true, force: true }))
}
// bunfig.toml writes a JUnit report here, which .ci/run counts; Bun does not create the folder.
mkdirSync(new URL('../test-results', import.meta.url).pathname, { recursive: true })
