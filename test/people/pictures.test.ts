import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { createHash, randomBytes } from 'node:crypto'
import { and, eq, sql } from 'drizzle-orm'
import { profilePictures } from '../../src/db/schema'
import { pairedSession, startSessionsWorld, type ApiSession, type Client, type SessionsWorld } from '../helpers/sessions'
import { until } from '../helpers/until'

let world: SessionsWorld
let alice: Client
let session: ApiSession

const PHONE = '15550500000'
const FRIEND = '15550500001'
const FRIEND_JID = `${FRIEND}@s.whatsapp.net`
const GROUP = '120363000000000001@g.us'

/** A "JPEG": its magic bytes, then noise, so every picture has its own hash. */
const jpeg = () => new Uint8Array(Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), randomBytes(2048)]))
const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex')
/** How often the companions asked WhatsApp for a picture so far. */
const pictureQueries = () => world.standIn.core.log.list('iq').filter((e) => e.xmlns === 'w:profile:picture').length

beforeAll(async () => {
	world = await startSessionsWorld()
	alice = await world.tenant()
	session = await pairedSession(world, alice, PHONE)
})
afterAll(async () => {
	await world?.close()
})

const codeOf = async (res: Response) => ((await res.json()) as { error: { code: string } }).error.code

const picture = (api: Client, jid: string, query = '', headers: Record<string, string> = {}) =>
	api.fetch(`/contacts/${encodeURIComponent(jid)}/picture${query}`, { headers })

describe('GET /contacts/:jid/picture', () => {
	it("answers the contact's picture with its type and an ETag of its SHA-256", async () => {
		const image = jpeg()
		await world.standIn.setProfilePicture(FRIEND, image)
		const res = await picture(alice, FRIEND_JID)
		expect(res.status).toBe(200)
		expect(res.headers.get('content-type')).toBe('image/jpeg')
		expect(res.headers.get('etag')).toBe(`"${sha256(image)}"`)
		expect(res.headers.get('cache-control')).toMatch(/^private, max-age=\d+$/)
		expect(new Uint8Array(await res.arrayBuffer())).toEqual(image)
	})

	it('answers 304 to If-None-Match with its ETag, weak or in a list, as caches send it', async () => {
		const first = await picture(alice, FRIEND_JID)
		const etag = first.headers.get('etag')!
		await first.arrayBuffer()
		const res = await picture(alice, FRIEND_JID, '', { 'if-none-match': etag })
		expect(res.status).toBe(304)
		expect(res.headers.get('etag')).toBe(etag)
		for (const header of [`W/${etag}`, `"other", ${etag}`, '*'])
			expect((await picture(alice, FRIEND_JID, '', { 'if-none-match': header })).status, header).toBe(304)
		const other = await picture(alice, FRIEND_JID, '', { 'if-none-match': '"other"' })
		expect(other.status).toBe(200)
		await other.arrayBuffer()
	})

	it('serves from its cache until PROFILE_PICTURE_TTL_SECONDS pass, with a row that says when it was fetched', async () => {
		const contact = '15550500002'
		const old = jpeg()
		await world.standIn.setProfilePicture(contact, old)
		expect(sha256(new Uint8Array(await (await picture(alice, `+1 555 050 0002`)).arrayBuffer()))).toBe(sha256(old))
		const { db } = world.app.server.database
		const where = and(eq(profilePictures.sessionId, session.id), eq(profilePictures.jid, `${contact}@s.whatsapp.net`))
		const [row] = await db.select().from(profilePictures).where(where)
		expect(row).toMatchObject({ sha256: sha256(old), mimetype: 'image/jpeg', size: old.byteLength })
		expect(Date.now() - row!.fetchedAt.getTime()).toBeLessThan(60_000)

		// The contact changes it: the cache still answers the old one, and WhatsApp is not asked.
		const changed = jpeg()
		await world.standIn.setProfilePicture(contact, changed)
		const asked = pictureQueries()
		expect(sha256(new Uint8Array(await (await picture(alice, `${contact}@s.whatsapp.net`)).arrayBuffer()))).toBe(sha256(old))
		expect(pictureQueries()).toBe(asked)

		// A day later the cached one is stale: it is fetched again.
		await db.update(profilePictures).set({ fetchedAt: sql`now() - interval '2 days'` }).where(where)
		expect(sha256(new Uint8Array(await (await picture(alice, `${contact}@s.whatsapp.net`)).arrayBuffer()))).toBe(sha256(changed))
		expect(pictureQueries()).toBe(asked + 1)
	})

	it('answers 404 NO_PICTURE for a contact without one, and for one who hides it', async () => {
		const none = await picture(alice, '15550500003@s.whatsapp.net')
		expect(none.status).toBe(404)
		expect(await codeOf(none)).toBe('NO_PICTURE')
		await world.standIn.setProfilePicture('15550500004', jpeg(), { hidden: true })
		const hidden = await picture(alice, '15550500004@s.whatsapp.net')
		expect(hidden.status).toBe(404)
		expect(await codeOf(hidden)).toBe('NO_PICTURE')
		// Its absence is cached as well: asking again does not ask WhatsApp.
		const asked = pictureQueries()
		expect((await picture(alice, '15550500003@s.whatsapp.net')).status).toBe(404)
		expect(pictureQueries()).toBe(asked)
	})

	it("answers a group's picture, and a contact's by its LID", async () => {
		const groupImage = jpeg()
		await world.standIn.setProfilePicture(GROUP, groupImage)
		const group = await picture(alice, GROUP)
		expect(group.status).toBe(200)
		expect(new Uint8Array(await group.arrayBuffer())).toEqual(groupImage)

		const lidImage = jpeg()
		await world.standIn.setProfilePicture('15550500005', lidImage)
		const byLid = await picture(alice, world.standIn.lidOf('15550500005'))
		expect(byLid.status).toBe(200)
		expect(new Uint8Array(await byLid.arrayBuffer())).toEqual(lidImage)
	})

	it('answers 404 NO_PICTURE for a LID WhatsApp knows no one by', async () => {
		const res = await picture(alice, '123456789012345@lid')
		expect(res.status).toBe(404)
		expect(await codeOf(res)).toBe('NO_PICTURE')
	})

	it('answers 400 INVALID_JID for what is not a user or group', async () => {
		for (const jid of ['status@broadcast', 'hello', '0123']) {
			const res = await picture(alice, jid)
			expect(res.status).toBe(400)
			expect(await codeOf(res)).toBe('INVALID_JID')
		}
	})

	it("keeps tenants apart: another account's session answers 404, and its pictures are not served", async () => {
		const bob = await world.tenant()
		const res = await picture(bob, FRIEND_JID, `?sessionId=${session.id}`)
		expect(res.status).toBe(404)
		expect(await codeOf(res)).toBe('NOT_FOUND')
		// Without a session of its own, there is nothing to ask through.
		expect((await picture(bob, FRIEND_JID)).status).toBe(404)
	})

	it('answers 409 SESSION_NOT_CONNECTED when a picture must be fetched and the session is not connected', async () => {
		const carol = await world.tenant()
		const other = await pairedSession(world, carol, '15550500006')
		await carol.post(`/sessions/${other.id}/stop`)
		await until(async () => (await carol.get(`/sessions/${other.id}`)).body.status === 'stopped', 'stopped')
		const res = await picture(carol, FRIEND_JID)
		expect(res.status).toBe(409)
		expect(await codeOf(res)).toBe('SESSION_NOT_CONNECTED')
	})
})
