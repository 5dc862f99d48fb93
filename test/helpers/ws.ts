/** A message of /ws/sessions as the client sees it. */
export interface WsMessage {
	type: string
	id?: string
	eventId?: string
	tenantId: string
	sessionId?: string
	occurredAt: string
	data: any
}

export interface TestSocket {
	/** Every message received so far, in order. */
	readonly messages: WsMessage[]
	/** Resolves with the close code and reason, whoever closed. */
	readonly closed: Promise<{ code: number; reason: string }>
	/**
	 * The next message not yet taken by `next` that matches `predicate` (messages skipped on the
	 * way are taken too); rejects after `timeoutMs` or when the socket closes first.
	 */
	next(predicate?: (m: WsMessage) => boolean, timeoutMs?: number): Promise<WsMessage>
	/** Takes messages until one matches `until`, and returns them all (that one included). */
	collect(until: (m: WsMessage) => boolean, timeoutMs?: number): Promise<WsMessage[]>
	/** The subprotocol the server chose ('' for none). */
	readonly protocol: string
	close(): void
}

/** A real WebSocket client on `/ws/sessions` of a running app (`url` = `http://host:port`), with upgrade `headers` and subprotocols if given. */
export function openSocket(
	url: string,
	query: Record<string, string | undefined> = {},
	headers?: Record<string, string>,
	protocols?: string[],
): TestSocket {
	const params = new URLSearchParams(Object.entries(query).filter((e): e is [string, string] => e[1] !== undefined))
	const target = `${url.replace(/^http/, 'ws')}/ws/sessions${params.size ? `?${params}` : ''}`
	// Bun's WebSocket takes headers, as server clients do; browsers cannot (hence `?accessToken=`).
	const ws = headers ? new WebSocket(target, { headers, protocols } as unknown as string[]) : new WebSocket(target, protocols)
	const messages: WsMessage[] = []
	let cursor = 0
	const waiters = new Set<() => void>()
	let closeInfo: { code: number; reason: string } | null = null
	const closed = new Promise<{ code: number; reason: string }>((resolve) => {
		ws.onclose = (e) => {
			closeInfo = { code: e.code, reason: e.reason }
			resolve(closeInfo)
			for (const w of waiters) w()
		}
	})
	ws.onmessage = (e) => {
		messages.push(JSON.parse(String(e.data)) as WsMessage)
		for (const w of waiters) w()
	}

	function next(predicate: (m: WsMessage) => boolean = () => true, timeoutMs = 10_000): Promise<WsMessage> {
		return new Promise((resolve, reject) => {
			const check = () => {
				while (cursor < messages.length) {
					const m = messages[cursor++]!
					if (predicate(m)) {
						done()
						resolve(m)
						return
					}
				}
				if (closeInfo) {
					done()
					reject(new Error(`socket closed (${closeInfo.code} ${closeInfo.reason}) before the expected message; got ${messages.length}`))
				}
			}
			const timer = setTimeout(() => {
				done()
				reject(
					new Error(
						`no matching message within ${timeoutMs} ms; got ${messages.length}: ${messages
							.slice(-3)
							.map((m) => m.type)
							.join(', ')}`,
					),
				)
			}, timeoutMs)
			const done = () => {
				clearTimeout(timer)
				waiters.delete(check)
			}
			waiters.add(check)
			check()
		})
	}

	return {
		messages,
		closed,
		next,
		async collect(until, timeoutMs = 10_000) {
			const from = cursor
			await next(until, timeoutMs)
			return messages.slice(from, cursor)
		},
		get protocol() {
			return ws.protocol
		},
		close: () => ws.close(),
	}
}
