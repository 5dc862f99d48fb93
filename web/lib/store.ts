import { useEffect, useState } from 'preact/hooks'

/** A value that components and modules can watch: the one piece of shared state plumbing. */
export interface Store<T> {
	get(): T
	set(value: T): void
	update(change: (value: T) => T): void
	subscribe(listener: (value: T) => void): () => void
}

export function store<T>(initial: T): Store<T> {
	let value = initial
	const listeners = new Set<(value: T) => void>()
	const set = (next: T) => {
		if (Object.is(next, value)) return
		value = next
		for (const listener of [...listeners]) listener(value)
	}
	return {
		get: () => value,
		set,
		update: (change) => set(change(value)),
		subscribe(listener) {
			listeners.add(listener)
			return () => listeners.delete(listener)
		},
	}
}

/**
 * The store's value, re-rendering the component whenever it changes. Effects run after the next
 * frame, so the store may change between the render and the subscription: the effect looks once
 * more, or that change (the realtime socket's first message, say) would never show, since setting
 * the same value again notifies nobody.
 */
export function useStore<T>(source: Store<T>): T {
	const value = source.get()
	const [, rerender] = useState(0)
	useEffect(() => {
		const unsubscribe = source.subscribe(() => rerender((n) => n + 1))
		if (!Object.is(source.get(), value)) rerender((n) => n + 1)
		return unsubscribe
	}, [source])
	return value
}
