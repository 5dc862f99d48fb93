import type { Subprocess } from 'bun'

export const REPO_ROOT = new URL('../..', import.meta.url).pathname

/**
 * Resolves with the first match of `pattern` in the text the stream produces; rejects if it ends
 * first. Keeps reading afterwards: cancelling a child's stdout would make its next write fail.
 */
export async function waitForOutput(stream: ReadableStream<Uint8Array>, pattern: RegExp): Promise<RegExpMatchArray> {
	const reader = stream.getReader()
	const decoder = new TextDecoder()
	let text = ''
	for (;;) {
		const { done, value } = await reader.read()
		if (done) throw new Error(`stream ended without ${pattern}; output:\n${text}`)
		text += decoder.decode(value, { stream: true })
		const match = text.match(pattern)
		if (match) {
			void drain(reader)
			return match
		}
	}
}

async function drain(reader: { read(): Promise<{ done: boolean }> }) {
	try {
		while (!(await reader.read()).done);
	} catch {}
}

/** Starts `bun src/index.ts` with exactly `env` (plus PATH/HOME) and waits for its port. */
export async function spawnServer(env: Record<string, string>): Promise<{ proc: Subprocess<'ignore', 'pipe', 'pipe'>; url: string }> {
	const proc = Bun.spawn(['bun', 'src/index.ts'], {
		cwd: REPO_ROOT,
		env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', PORT: '0', ...env },
		stdout: 'pipe',
		stderr: 'pipe',
	})
	const [, port] = await waitForOutput(proc.stdout, /"?port"?: ?(\d+)/)
	return { proc, url: `http://127.0.0.1:${port}` }
}
