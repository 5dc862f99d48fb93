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
