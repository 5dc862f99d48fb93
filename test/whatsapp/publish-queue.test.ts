import { describe, expect, it } from 'bun:test'
import { PublishQueue } from '../../src/whatsapp/publish-queue'
import { rejectionOf } from '../helpers/rejection'

/** A publish that waits until the test lets it finish, recording what each call carried. */
function gatedPublish() {
	const calls: number[][] = []
	const gates: PromiseWithResolvers<void>[] = []
	const publish = (items: number[]) => {
		calls.push([...items])
		const gate = Promise.withResolvers<void>()
		gates.push(gate)
		return gate.promise
	}
	return { calls, gates, publish }
}

describe('the publish queue of a session', () => {
	it('publishes at once when idle, and gathers what comes meanwhile into the next publish, in order', async () => {
		const { calls, gates, publish } = gatedPublish()
		const queue = new PublishQueue(publish)
		const first = queue.push([1])
		await Bun.sleep(0)
		const second = queue.push([2, 3])
		const third = queue.push([4])
		expect(calls).toEqual([[1]])
		gates[0]!.resolve()
		await first
		await Bun.sleep(0)
		expect(calls).toEqual([[1], [2, 3, 4]])
		gates[1]!.resolve()
		await Promise.all([second, third])
	})

	it('resolves a push only once the publish that carried it is done', async () => {
		const { gates, publish } = gatedPublish()
		const queue = new PublishQueue(publish)
		let done = false
		const pushed = queue.push([1]).then(() => (done = true))
		await Bun.sleep(0)
		expect(done).toBe(false)
		gates[0]!.resolve()
		await pushed
		expect(done).toBe(true)
	})

	it('rejects the pushes of a failed publish and goes on with the next', async () => {
		const { calls, gates, publish } = gatedPublish()
		const queue = new PublishQueue(publish)
		const first = queue.push([1])
		await Bun.sleep(0)
		const second = queue.push([2])
		gates[0]!.reject(new Error('redis down'))
		expect(await rejectionOf(first)).toMatchObject({ message: expect.stringContaining('redis down') })
		await Bun.sleep(0)
		expect(calls).toEqual([[1], [2]])
		gates[1]!.resolve()
		await second
	})
})
