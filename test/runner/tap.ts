import type { Bus } from '../../src/bus'
import type { AnyEnvelope } from '../../src/core/catalogue'

/**
 * Sits between the runner and the bus (`h.startRunner({}, { bus: tap.wrap })`) and watches the
 * `session.messages.upsert` publishes of chosen message ids: it can make them fail or hold them
 * until told, and it records, in order, each upsert that reached the bus.
 */
export class UpsertTap {
	/** `published <id>` for every message id of an upsert the bus took, in order. */
	readonly log: string[] = []
	private readonly failing = new Set<string>()
	private readonly held = new Map<string, PromiseWithResolvers<void>>()
	private readonly attempts = new Map<string, PromiseWithResolvers<void>>()

	readonly wrap = (bus: Bus): Bus =>
		new Proxy(bus, {
			get: (target, prop) => {
				if (prop === 'publish') return (envelopes: readonly AnyEnvelope[]) => this.publish(target, envelopes)
				const value = Reflect.get(target, prop)
				return typeof value === 'function' ? value.bind(target) : value
			},
		})

	/** Every publish carrying `id` fails until `heal`. */
	fail(id: string): void {
		this.failing.add(id)
	}

	heal(id: string): void {
		this.failing.delete(id)
	}

	/** The next publishes carrying `id` wait until the returned function is called. */
	hold(id: string): () => void {
		const gate = Promise.withResolvers<void>()
		this.held.set(id, gate)
		return () => {
			this.held.delete(id)
			gate.resolve()
		}
	}

	/** Resolves once the runner tried to publish an upsert carrying `id`. */
	attempted(id: string): Promise<void> {
		return this.attempt(id).promise
	}

	private attempt(id: string): PromiseWithResolvers<void> {
		let attempt = this.attempts.get(id)
		if (!attempt) {
			attempt = Promise.withResolvers<void>()
			this.attempts.set(id, attempt)
		}
		return attempt
	}

	private async publish(bus: Bus, envelopes: readonly AnyEnvelope[]) {
		const ids = envelopes.flatMap((e) =>
			e.type === 'session.messages.upsert' ? (e.data as { messages: { key: { id: string } }[] }).messages.map((m) => m.key.id) : [],
		)
		for (const id of ids) this.attempt(id).resolve()
		if (ids.some((id) => this.failing.has(id))) throw new Error('the bus refuses this publish (test)')
		for (const id of ids) await this.held.get(id)?.promise
		const published = await bus.publish(envelopes)
		for (const id of ids) this.log.push(`published ${id}`)
		return published
	}
}
