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

/** The store's value, re-rendering the component whenever it changes. */
export function useStore<T>(source: Store<T>): T {
	const [, rerender] = useState(0)
	useEffect(() => source.subscribe(() => rerender((n) => n + 1)), [source])
	return source.get()
}
