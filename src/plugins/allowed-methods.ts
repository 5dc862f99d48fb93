/** A route as the app lists it (`app.routes`). */
interface Route {
	method: string
	path: string
}

/**
 * Which methods a path has routes for, so that a request with another method gets 405 and an
 * `Allow` header (the path exists) rather than 404 (it does not). Filled once the app has all its
 * routes; a path pattern is compiled on first use.
 */
export function createAllowedMethods() {
	let routes: readonly Route[] = []
	const patterns = new Map<string, RegExp>()
	const patternOf = (path: string) => {
		let pattern = patterns.get(path)
		if (!pattern) {
			const source = path
				.split('/')
				.map((part) => (part.startsWith(':') ? '[^/]+' : part === '*' ? '.*' : part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
				.join('/')
			patterns.set(path, (pattern = new RegExp(`^${source}/?$`)))
		}
		return pattern
	}
	return {
		load(list: readonly Route[]) {
			// A WebSocket route answers GET upgrades; Elysia lists it as WS.
			routes = list.map((r) => ({ method: r.method === 'WS' ? 'GET' : r.method.toUpperCase(), path: r.path }))
		},
		/** The methods with a route for `path` (HEAD wherever GET is), sorted; empty when none. */
		of(path: string): string[] {
			const methods = new Set(routes.filter((r) => patternOf(r.path).test(path)).map((r) => r.method))
			if (methods.has('GET')) methods.add('HEAD')
			return [...methods].sort()
		},
	}
}

export type AllowedMethods = ReturnType<typeof createAllowedMethods>
