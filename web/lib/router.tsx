import type { JSX } from 'preact'
import { store } from './store'

/**
 * Paths, with the History API. The signed-in pages live under `/app/` so that a reload of one of
 * them asks the server for the page and never for an API route (`/sessions` is the API's).
 */
export const location = store({ path: window.location.pathname, query: new URLSearchParams(window.location.search) })

function sync() {
	location.set({ path: window.location.pathname, query: new URLSearchParams(window.location.search) })
}
window.addEventListener('popstate', sync)

export function navigate(to: string, { replace = false }: { replace?: boolean } = {}) {
	if (to === window.location.pathname + window.location.search) return
	if (replace) history.replaceState(null, '', to)
	else history.pushState(null, '', to)
	sync()
}

/** A path segment decoded, or null for a malformed escape (`%E0`) in a typed address. */
function decoded(segment: string): string | null {
	try {
		return decodeURIComponent(segment)
	} catch {
		return null
	}
}

/** `pattern` like `/app/sessions/:id/chats/:jid`; the params of `path`, decoded, or null. */
export function match(pattern: string, path: string): Record<string, string> | null {
	const want = pattern.split('/')
	const have = path.replace(/\/+$/, '').split('/')
	if (want.length !== have.length) return null
	const params: Record<string, string> = {}
	for (let i = 0; i < want.length; i++) {
		const segment = want[i]!
		if (segment.startsWith(':')) {
			// A segment that does not decode matches nothing rather than throwing.
			const value = decoded(have[i]!)
			if (value === null) return null
			params[segment.slice(1)] = value
		} else if (segment !== have[i]) return null
	}
	return params
}

/** A link that navigates in the page; a modified click (new tab, …) is left to the browser. */
export function Link({ href, ...props }: JSX.HTMLAttributes<HTMLAnchorElement> & { href: string }) {
	const onClick = (event: MouseEvent) => {
		if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return
		event.preventDefault()
		navigate(href)
	}
	return <a href={href} {...props} onClick={onClick} />
}
