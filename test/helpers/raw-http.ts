/**
 * Writes these exact bytes to the server at `url` on a connection of their own and resolves with
 * everything it answered until it closed. For requests `fetch` will not send: no or a bad Host
 * header, a malformed chunked body.
 */
export function rawExchange(url: string, request: string): Promise<string> {
	const { hostname, port } = new URL(url)
	return new Promise<string>((resolve, reject) => {
		let received = ''
		Bun.connect({
			hostname,
			port: Number(port),
			socket: {
				open: (socket) => void socket.write(request),
				data: (_, chunk) => void (received += chunk.toString()),
				close: () => resolve(received),
				error: (_, err) => reject(err),
			},
		}).catch(reject)
	})
}
