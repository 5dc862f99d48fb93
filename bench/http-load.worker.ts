// Load generator for HTTP benchmarks, in its own thread so it does not share the server's.
// Message in: { url, headers, concurrency, durationMs }; out: { requests, seconds, errors }.
declare const self: Worker

self.onmessage = async (event: MessageEvent<{ url: string; headers: Record<string, string>; concurrency: number; durationMs: number }>) => {
	const { url, headers, concurrency, durationMs } = event.data
	let requests = 0
	let errors = 0
	const started = performance.now()
	const deadline = started + durationMs
	await Promise.all(
		Array.from({ length: concurrency }, async () => {
			while (performance.now() < deadline) {
				const res = await fetch(url, { headers })
				await res.arrayBuffer()
				if (res.status === 200) requests++
				else errors++
			}
		}),
	)
	self.postMessage({ requests, seconds: (performance.now() - started) / 1000, errors })
}
