import type { Subprocess } from 'bun'

export const REPO_ROOT = new URL('../..', import.meta.url).pathname

/**
 * Resolves with the first match of `pattern` in the text the stream produces; rejects if it ends
 * first. Keeps reading afterwards: cancelling a child's stdout would make its next write fail.
 */
export async function waitForOutput(stream: ReadableStream<Uint8Array>, pattern: RegExp): Promise<RegExpMatchArray> {
	return (await followOutput(stream, pattern)).match
}

/** As `waitForOutput`, and `all` resolves with everything the stream produced once it ends. */
export async function followOutput(stream: ReadableStream<Uint8Array>, pattern: RegExp): Promise<{ match: RegExpMatchArray; all: Promise<string> }> {
	const reader = stream.getReader()
	const decoder = new TextDecoder()
	let text = ''
	for (;;) {
		const { done, value } = await reader.read()
		if (done) throw new Error(`stream ended without ${pattern}; output:\n${text}`)
		text += decoder.decode(value, { stream: true })
		const match = text.match(pattern)
		if (match) return { match, all: drain(reader, decoder).then((rest) => text + rest) }
	}
}

async function drain(reader: { read(): Promise<{ done: boolean; value?: Uint8Array }> }, decoder: TextDecoder): Promise<string> {
	let text = ''
	try {
		for (;;) {
			const { done, value } = await reader.read()
			if (done) break
			text += decoder.decode(value, { stream: true })
		}
	} catch {}
	return text + decoder.decode()
}

/**
 * Starts `bun src/index.ts` with exactly `env` (plus PATH/HOME) and waits for its port; `stdout`
 * resolves with everything the process printed there once it closes it.
 */
export async function spawnServer(
	env: Record<string, string>,
): Promise<{ proc: Subprocess<'ignore', 'pipe', 'pipe'>; url: string; stdout: Promise<string> }> {
	const proc = Bun.spawn(['bun', 'src/index.ts'], {
		cwd: REPO_ROOT,
		env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', PORT: '0', ...env },
		stdout: 'pipe',
		stderr: 'pipe',
	})
	const { match, all } = await followOutput(proc.stdout, /"?port"?: ?(\d+)/)
	return { proc, url: `http://127.0.0.1:${match[1]}`, stdout: all }
}
