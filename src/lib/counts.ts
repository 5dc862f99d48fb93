/**
 * Counts by key that forget a key once it is back at zero, so the map holds only what is open now
 * (sockets per tenant, attempts or lanes per endpoint), however many keys have come and gone.
 */
export class Counts<K> {
	private readonly counts = new Map<K, number>()

	get(key: K): number {
		return this.counts.get(key) ?? 0
	}

	add(key: K) {
		this.counts.set(key, this.get(key) + 1)
	}

	/** One fewer; at zero the key is forgotten (a key not counted stays so). */
	remove(key: K) {
		const left = this.get(key) - 1
		if (left > 0) this.counts.set(key, left)
		else this.counts.delete(key)
	}

	/** The keys counted now (each at one or more). */
	keys(): K[] {
		return [...this.counts.keys()]
	}

	/** The counts, in the order of `keys()`. */
	values(): number[] {
		return [...this.counts.values()]
	}
}
