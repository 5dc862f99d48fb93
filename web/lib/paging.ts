import { useEffect, useRef } from 'preact/hooks'

/** Calls `load` whenever the returned element scrolls into view: keyset paging as the list scrolls. */
export function useWhenVisible(load: () => void, active: boolean) {
	const ref = useRef<HTMLElement>(null)
	const latest = useRef(load)
	latest.current = load
	useEffect(() => {
		const element = ref.current
		if (!element || !active) return
		const observer = new IntersectionObserver((entries) => entries.some((e) => e.isIntersecting) && latest.current(), { rootMargin: '200px' })
		observer.observe(element)
		return () => observer.disconnect()
	}, [active])
	return ref
}

/**
 * A page's REST loads, one at a time. A load asked for while another runs is dropped (the next
 * scroll asks again), except a reload of the first page: a snapshot asks for that one, and dropping
 * it would lose what happened since, so it runs once the load in hand ends.
 */
export function oneLoadAtATime() {
	let loading = false
	let reloadAfter = false
	return {
		/** Whether this load may run now; false while another runs (a reload is then kept for later). */
		begin(reload: boolean): boolean {
			if (loading) {
				if (reload) reloadAfter = true
				return false
			}
			loading = true
			return true
		},
		/** Ends the load; true when a reload was asked for meanwhile, which the caller runs now. */
		end(): boolean {
			loading = false
			const again = reloadAfter
			reloadAfter = false
			return again
		},
	}
}

/** One `oneLoadAtATime` for the life of a component. */
export const useOneLoadAtATime = () => useRef(oneLoadAtATime()).current
