import type { Socket, TCPSocketListener } from 'bun'

/**
 * A TCP proxy to PostgreSQL that the test can cut (every connection closed, new ones closed at once)
 * or freeze (every connection kept open, nothing passed on either way), and restore; have reset a
 * connection on which the client sends a given text; or have connections reset or ended at random.
 */
export function databaseProxy(target: URL) {
	interface Link {
		peer?: Socket<undefined>
		queued: Uint8Array[]
		/** What PostgreSQL sent while frozen. */
		held: Uint8Array[]
	}
	let cut = false
	let frozen = false
	let resetOn: Buffer | null = null
	let shaker: ReturnType<typeof setInterval> | undefined
	const links = new Set<Socket<Link>>()
	const listener: TCPSocketListener<Link> = Bun.listen<Link>({
		hostname: '127.0.0.1',
		port: 0,
		socket: {
			open(client) {
				client.data = { queued: [], held: [] }
				if (cut || (shaker && Math.random() < 0.3)) return void client.terminate()
				links.add(client)
				void Bun.connect<undefined>({
					hostname: target.hostname,
					port: Number(target.port || 5432),
					socket: {
						data: (_, chunk) => {
							if (frozen) client.data.held.push(new Uint8Array(chunk))
							else client.write(chunk)
						},
						close: () => {
							client.end()
						},
						error: () => {
							client.end()
						},
					},
				}).then((peer) => {
					client.data.peer = peer
					for (const chunk of client.data.queued.splice(0)) peer.write(chunk)
				})
			},
			data(client, chunk) {
				if (cut || (resetOn && Buffer.from(chunk).includes(resetOn))) return void client.terminate()
				if (client.data.peer && !frozen) client.data.peer.write(chunk)
				else client.data.queued.push(new Uint8Array(chunk))
			},
			close(client) {
				links.delete(client)
				client.data.peer?.end()
			},
			error(client) {
				client.data.peer?.end()
			},
		},
	})
	return {
		port: listener.port,
		/** New connections are reset at once; open ones are ended by PostgreSQL itself (`kill`), as a restart ends them. */
		async cut(kill: () => Promise<void>) {
			cut = true
			await kill()
		},
		/** Open connections stay open and new ones are accepted, but nothing passes either way, as on a paused host. */
		freeze() {
			frozen = true
		},
		restore() {
			cut = false
			if (!frozen) return
			frozen = false
			// What waited goes on, in order: the server takes the queries, their answers come back.
			for (const link of links) {
				for (const chunk of link.data.held.splice(0)) link.write(chunk)
				if (link.data.peer) for (const chunk of link.data.queued.splice(0)) link.data.peer.write(chunk)
			}
		},
		/** A connection on which the client sends `text` is reset (RST) instead, until called with null. */
		resetWhenSent(text: string | null) {
			resetOn = text === null ? null : Buffer.from(text)
		},
		/**
		 * While on, each connection is reset (RST) or ended (FIN) at a random moment, 200 ms on average
		 * after the shaking reaches it, and three new connections in ten are reset at once.
		 */
		shake(on: boolean) {
			clearInterval(shaker)
			shaker = on
				? setInterval(() => {
						for (const link of links) if (Math.random() < 0.1) Math.random() < 0.5 ? link.terminate() : link.end()
					}, 20)
				: undefined
		},
		stop: () => {
			clearInterval(shaker)
			listener.stop(true)
		},
	}
}

/** `url` (a database's) reached through the proxy listening on `port`. */
export function viaProxy(url: string, port: number): string {
	const through = new URL(url)
	through.hostname = '127.0.0.1'
	through.port = String(port)
	return through.toString()
}
