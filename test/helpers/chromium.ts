import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { waitForOutput } from './process'

export interface Rendered {
	/** Console errors and warnings, uncaught exceptions, and policy violations the page caused. */
	messages: string[]
	/** What `script` returned (awaited). */
	value: unknown
}

/**
 * Opens `url` in a headless Chromium through the DevTools protocol, runs `script` in the page once
 * it has loaded, and reports what went wrong on the way. For opt-in checks of pages: CI installs no
 * browser.
 */
export async function renderInChromium(binary: string, url: string, { script }: { script: string }): Promise<Rendered> {
	const profile = mkdtempSync(join(tmpdir(), 'switchboard-chromium-'))
	const browser = Bun.spawn(
		[
			binary,
			'--headless',
			'--no-sandbox',
			'--disable-gpu',
			'--no-first-run',
			`--user-data-dir=${profile}`,
			'--remote-debugging-port=0',
			'about:blank',
		],
		{ stdout: 'ignore', stderr: 'pipe' },
	)
	try {
		const [, endpoint] = await waitForOutput(browser.stderr, /DevTools listening on (ws:\/\/\S+)/)
		const { port } = new URL(endpoint!)
		const targets = (await (await fetch(`http://127.0.0.1:${port}/json`)).json()) as { type: string; webSocketDebuggerUrl: string }[]
		const page = targets.find((target) => target.type === 'page')!
		const socket = new WebSocket(page.webSocketDebuggerUrl)
		await new Promise((resolve, reject) => {
			socket.addEventListener('open', resolve)
			socket.addEventListener('error', reject)
		})
		const messages: string[] = []
		const pending = new Map<number, (result: { result?: unknown; error?: unknown }) => void>()
		let next = 0
		const send = (method: string, params: object = {}) =>
			new Promise<{ result?: unknown; error?: unknown }>((resolve) => {
				pending.set(++next, resolve)
				socket.send(JSON.stringify({ id: next, method, params }))
			})
		socket.addEventListener('message', (event) => {
			const message = JSON.parse(String(event.data))
			if (message.id) return pending.get(message.id)?.(message)
			const { method, params } = message
			if (method === 'Log.entryAdded' && (params.entry.level === 'error' || ['security', 'violation'].includes(params.entry.source)))
				messages.push(`${params.entry.source}: ${params.entry.text}`)
			if (method === 'Runtime.consoleAPICalled' && ['error', 'warning', 'assert'].includes(params.type))
				messages.push(
					`console.${params.type}: ${params.args.map((a: { value?: unknown; description?: string }) => a.value ?? a.description).join(' ')}`,
				)
			if (method === 'Runtime.exceptionThrown')
				messages.push(`exception: ${params.exceptionDetails.exception?.description ?? params.exceptionDetails.text}`)
		})
		for (const domain of ['Log', 'Runtime', 'Page']) await send(`${domain}.enable`)
		const loaded = new Promise<void>((resolve) =>
			socket.addEventListener('message', (event) => JSON.parse(String(event.data)).method === 'Page.loadEventFired' && resolve()),
		)
		await send('Page.navigate', { url })
		await loaded
		const evaluated = (await send('Runtime.evaluate', { expression: script, awaitPromise: true, returnByValue: true })) as {
			result?: { result?: { value?: unknown }; exceptionDetails?: { text: string } }
		}
		if (evaluated.result?.exceptionDetails) messages.push(`script: ${evaluated.result.exceptionDetails.text}`)
		socket.close()
		return { messages, value: evaluated.result?.result?.value }
	} finally {
		browser.kill()
		await browser.exited
		rmSync(profile, { recursive: true, force: true })
	}
}
