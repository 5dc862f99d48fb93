import { describe, expect, it } from 'bun:test'
import pino from 'pino'
import { createMemoryBus } from '../../src/bus/memory-bus'
import { DOMAIN_EVENTS } from '../../src/core/streams'
import { createRunnerPublisher } from '../../src/roles/runner/publisher'
import { message } from '../events/fixtures'

const TENANT = Bun.randomUUIDv7()
const SESSION = Bun.randomUUIDv7()

function world() {
	const lines: Record<string, unknown>[] = []
	const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line)) })
	const bus = createMemoryBus({ partitions: 4, logger })
	return { bus, lines, publisher: createRunnerPublisher({ bus, logger, runnerId: 'test' }) }
}

describe('the runner’s publisher', () => {
	it('drops only the items of an event the catalogue refuses, and logs how many', async () => {
		const { bus, lines, publisher } = world()
		const bad = { ...message('BAD'), timestamp: -5 }
		await publisher.sessionEvents(TENANT, SESSION, [
			{ type: 'session.messages.upsert', data: { messages: [message('GOOD1'), bad, message('GOOD2')], type: 'notify' } },
		])
		const entries = await bus.read(DOMAIN_EVENTS, { after: '0' })
		expect(entries.map((e) => (e.envelope.data as { messages: { key: { id: string } }[] }).messages.map((m) => m.key.id))).toEqual([
			['GOOD1', 'GOOD2'],
		])
		expect(lines.find((l) => l.msg === 'dropping what the catalogue refuses')).toMatchObject({
			level: 50,
			dropped: 1,
			type: 'session.messages.upsert',
		})
	})

	it('replaces a NUL in what it publishes', async () => {
		const { bus, publisher } = world()
		await publisher.sessionEvents(TENANT, SESSION, [
			{ type: 'session.messages.upsert', data: { messages: [{ ...message('NUL'), text: 'a\u0000b' }], type: 'notify' } },
		])
		const [entry] = await bus.read(DOMAIN_EVENTS, { after: '0' })
		expect((entry!.envelope.data as { messages: { text: string }[] }).messages[0]!.text).toBe('a\uFFFDb')
	})
})
