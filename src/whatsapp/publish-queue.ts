/**
 * Publishes a session's events in the order they are given, one publish at a time, and gathers
 * whatever is given while a publish is in flight into the next one. A session that receives
 * messages faster than one publish round trip no longer queues one round trip per Baileys batch:
 * the next publish carries everything that came meanwhile. Each call resolves (or rejects) with
 * the publish that carried its events; a failed publish does not hold back the later ones.
 */
export class PublishQueue<T> {
	private next?: { items: T[]; done: PromiseWithResolvers<void> }
	private tail: Promise<void> = Promise.resolve()

	constructor(private readonly publish: (items: T[]) => Promise<void>) {}

	push(items: readonly T[]): Promise<void> {
		let batch = this.next
		if (!batch) {
			const created = { items: [] as T[], done: Promise.withResolvers<void>() }
			batch = created
			this.next = created
			this.tail = this.tail.then(async () => {
				// From here on, new events go to the publish after this one.
				this.next = undefined
				try {
					await this.publish(created.items)
					created.done.resolve()
				} catch (err) {
					created.done.reject(err)
				}
			})
		}
		batch.items.push(...items)
		return batch.done.promise
	}
}
