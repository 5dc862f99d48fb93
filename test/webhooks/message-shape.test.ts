import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { type Client, pairedSession, type SessionsWorld, startSessionsWorld } from '../helpers/sessions'
import { until } from '../helpers/until'
import { createWebhook, type Receiver, startReceiver } from './helpers'

/**
 * What docs/messages.md ("Messages in events") tells a webhook integrator, against real deliveries:
 * a person WhatsApp names by LID writes, the account answers, receipts follow; the mapping the
 * guide shows turns each webhook message into what GET /chats/:jid/messages shows.
 */

const PHONE = '15550000801'
const ADA = '15550000802'
const CHAT = `${ADA}@s.whatsapp.net`

/** The guide's `asRest`, compiled from its code block. */
function guideMapping(): (m: unknown) => Record<string, unknown> {
	const guide = readFileSync(join(import.meta.dir, '../../docs/messages.md'), 'utf8')
	const code = guide.split('\n## Messages in events\n')[1]?.match(/```ts\n([\s\S]*?)\n```/)?.[1]
	if (!code) throw new Error('docs/messages.md shows no mapping under "Messages in events"')
	return new Function(`${new Bun.Transpiler({ loader: 'ts' }).transformSync(code)}\nreturn asRest`)()
}

let world: SessionsWorld
let api: Client
let receiver: Receiver

beforeAll(async () => {
	world = await startSessionsWorld({ ROLES: 'api,runner,consumer,webhooks', WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true', WEBHOOK_POLL_MS: '50' })
	api = await world.tenant()
	receiver = await startReceiver()
	await pairedSession(world, api, PHONE)
	await createWebhook(api, { url: receiver.url, events: ['session.messages.*'] })
})
afterAll(async () => {
	await receiver.stop()
	await world.close()
})

describe('a message in a webhook', () => {
	it('has a key, a numbered status and epoch seconds; the guide maps it to the REST message', async () => {
		const asRest = guideMapping()
		const received = await world.standIn.deliverEncrypted({
			to: PHONE,
			from: ADA,
			text: 'Is my order on its way?',
			pushName: 'Ada',
			addressing: 'lid',
		})
		const sent = await api.post(`/chats/${CHAT}/messages`, { text: 'It ships today.' })
		await world.standIn.waitForSent((m) => m.id === sent.body.messageId)
		await world.standIn.sendReceipts({ ids: [sent.body.messageId], type: 'delivery' })
		await world.standIn.sendReceipts({ ids: [sent.body.messageId], type: 'read' })
		// A receipt may overtake the upsert of the message it is for, and the answer the question it
		// answers (the runner may decrypt the question after it sent the answer): wait for them all.
		const upsertOf = (r: Receiver['requests'], id: string) =>
			r.some((x) => x.json.type === 'session.messages.upsert' && x.json.data.messages.some((m: { key: { id: string } }) => m.key.id === id))
		await receiver.until(
			(r) => upsertOf(r, received.id) && upsertOf(r, sent.body.messageId) && r.filter((x) => x.json.type === 'session.messages.update').length >= 3,
			"the question, the answer, the phone's receipt and the contact's two",
		)

		const bodies = receiver.accepted().map((r) => r.json)
		const upserted = bodies.filter((b) => b.type === 'session.messages.upsert').flatMap((b) => b.data.messages)
		const theirs = upserted.find((m) => m.key.id === received.id)
		expect(theirs.key).toEqual({ remoteJid: world.standIn.lidOf(ADA), remoteJidAlt: CHAT, fromMe: false, id: received.id })
		expect(theirs).toMatchObject({ pushName: 'Ada', status: 3, kind: 'text', text: 'Is my order on its way?' })
		expect(Number.isInteger(theirs.timestamp) && Math.abs(theirs.timestamp - Date.now() / 1000) < 60).toBe(true)
		const ours = upserted.find((m) => m.key.id === sent.body.messageId)
		expect(ours).toMatchObject({ key: { remoteJid: CHAT, fromMe: true }, status: 1 })
		const receipts = bodies.filter((b) => b.type === 'session.messages.update').flatMap((b) => b.data.updates)
		// The account's phone has it (server_ack), then the contact's receipts: delivered, read.
		expect(receipts.map((u) => u.status)).toEqual([2, 3, 4])

		// The consumer and the webhooks role read the stream each at its own pace, and the question's
		// upsert may follow the answer's receipts on it: the list is awaited for both messages.
		const rest = await until(async () => {
			const { body } = await api.get(`/chats/${CHAT}/messages`)
			const items: { id: string; status: string }[] = body.items ?? []
			return items.some((m) => m.id === received.id) && items.some((m) => m.id === sent.body.messageId && m.status === 'read') && items
		}, 'both messages, the answer read')
		expect(rest.find((m: { id: string }) => m.id === received.id)).toMatchObject(asRest(theirs))
		expect(rest.find((m: { id: string }) => m.id === sent.body.messageId)).toMatchObject({ ...asRest(ours), status: 'read' })
		// The chat the event names by LID is the same chat.
		expect((await api.get(`/chats/${theirs.key.remoteJid}/messages`)).body.items.map((m: { chatJid: string }) => m.chatJid)).toEqual([CHAT, CHAT])
	})
})
