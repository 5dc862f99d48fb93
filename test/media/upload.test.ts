import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { createHash } from 'node:crypto'
import { readdirSync } from 'node:fs'
import postgres from 'postgres'
import { api, createVerifiedUser, expectError, type LoggedInUser, randomIp } from '../helpers/accounts'
import { mp4 } from '../helpers/mp4'
import { until } from '../helpers/until'
import { startTestApp, type TestApp } from '../helpers/app'

/** POST /media and GET /media/:id: files in and out, whole or in ranges, for their tenant only. */

const MAX = 256 * 1024
let app: TestApp
let alice: LoggedInUser
let bob: LoggedInUser
let sql: postgres.Sql

beforeAll(async () => {
	app = await startTestApp({ MEDIA_MAX_BYTES: String(MAX) })
	;[alice, bob] = await Promise.all([createVerifiedUser(app), createVerifiedUser(app)])
	sql = postgres(app.database.url, { max: 1, onnotice: () => {} })
})
afterAll(async () => {
	await sql.end()
	await app.close()
})

const bytes = (n: number, seed = 1) => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) % 256)
const sha256 = (data: Uint8Array) => createHash('sha256').update(data).digest('hex')
/** Every object in the media store's folder. */
const storedObjects = () =>
	app.config.media.store.kind === 'fs'
		? readdirSync(app.config.media.store.dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile())
		: []

function upload(user: LoggedInUser, body: Uint8Array | FormData | ReadableStream<Uint8Array> | null, headers: Record<string, string> = {}) {
	return fetch(`${app.url}/media`, { method: 'POST', headers: { ...user.headers, 'x-forwarded-for': randomIp(), ...headers }, body })
}
const download = (user: LoggedInUser, id: string, headers: Record<string, string> = {}) =>
	fetch(`${app.url}/media/${id}`, { headers: { ...user.headers, 'x-forwarded-for': randomIp(), ...headers } })

describe('POST /media', () => {
	it('stores a raw body with its Content-Type and answers its id, type, size and sha256', async () => {
		const file = bytes(100_000)
		const res = await upload(alice, file, { 'content-type': 'image/jpeg' })
		expect(res.status).toBe(201)
		expect(await res.json()).toEqual({ id: expect.any(String), mimetype: 'image/jpeg', size: 100_000, sha256: sha256(file) })
	})

	it("answers a video's length and picture size, read from its headers, raw or in a form", async () => {
		const file = mp4({ seconds: 12, width: 1920, height: 1080, degrees: 90, moovLast: true })
		const raw = await upload(alice, file, { 'content-type': 'video/mp4' })
		expect(raw.status).toBe(201)
		expect(await raw.json()).toEqual({
			id: expect.any(String),
			mimetype: 'video/mp4',
			size: file.byteLength,
			sha256: sha256(file),
			seconds: 12,
			width: 1080,
			height: 1920,
		})
		const form = new FormData()
		form.set('file', new Blob([file], { type: 'video/quicktime' }), 'clip.mov')
		expect(await (await upload(alice, form)).json()).toMatchObject({ mimetype: 'video/quicktime', seconds: 12, width: 1080, height: 1920 })
		// Bytes that only claim to be a video are stored all the same, with nothing known of them.
		const unknown = await upload(alice, bytes(2_000), { 'content-type': 'video/mp4' })
		expect(unknown.status).toBe(201)
		expect(Object.keys((await unknown.json()) as object).sort()).toEqual(['id', 'mimetype', 'sha256', 'size'])
	})

	it('refuses to download an upload from WhatsApp: 409 MEDIA_NOT_DOWNLOADABLE, not a 202 that does nothing', async () => {
		const res = await upload(alice, bytes(500, 9), { 'content-type': 'text/plain' })
		const { id } = (await res.json()) as { id: string }
		const asked = await fetch(`${app.url}/media/${id}/download`, { method: 'POST', headers: { ...alice.headers, 'x-forwarded-for': randomIp() } })
		const error = await expectError(asked, 409, 'MEDIA_NOT_DOWNLOADABLE')
		expect(error.message).toBe('Only a file a message brought can be downloaded from WhatsApp; this one is an upload')
	})

	it('stores the `file` part of a multipart form with its own type and name', async () => {
		const file = bytes(5_000, 2)
		const form = new FormData()
		form.set('note', 'ignored')
		form.set('file', new Blob([file], { type: 'application/pdf' }), 'Quarterly report (draft).pdf')
		const res = await upload(alice, form)
		expect(res.status).toBe(201)
		const { id, mimetype, sha256: hash } = (await res.json()) as { id: string; mimetype: string; sha256: string }
		expect({ mimetype, hash }).toEqual({ mimetype: 'application/pdf', hash: sha256(file) })
		const got = await download(alice, id)
		expect(got.headers.get('content-disposition')).toBe(`inline; filename*=UTF-8''${encodeURIComponent('Quarterly report (draft).pdf')}`)
	})

	it('names a raw body as its Content-Disposition does: the encoded name first, without folders', async () => {
		const named = async (disposition: string) => {
			const res = await upload(alice, bytes(1_000, 7), { 'content-type': 'application/pdf', 'content-disposition': disposition })
			expect(res.status).toBe(201)
			return (await download(alice, ((await res.json()) as { id: string }).id)).headers.get('content-disposition')
		}
		expect(await named('attachment; filename="invoice 7.pdf"')).toBe("inline; filename*=UTF-8''invoice%207.pdf")
		expect(await named(`attachment; filename="rates.pdf"; filename*=UTF-8''${encodeURIComponent('€ rates.pdf')}`)).toBe(
			`inline; filename*=UTF-8''${encodeURIComponent('€ rates.pdf')}`,
		)
		expect(await named('attachment; filename="../../etc/passwd"')).toBe("inline; filename*=UTF-8''passwd")
		expect(await named('attachment')).toBe('inline')
	})

	it('refuses a raw body whose Content-Disposition names it with a NUL or an encoding that does not decode, with 400 naming the header', async () => {
		// A header cannot carry a NUL itself; an encoded name can.
		for (const disposition of ["attachment; filename*=UTF-8''a%00b.pdf", "attachment; filename*=UTF-8''%FF.pdf"]) {
			const res = await upload(alice, bytes(1_000, 8), { 'content-type': 'application/pdf', 'content-disposition': disposition })
			const error = await expectError(res, 400, 'VALIDATION_FAILED')
			expect(error.details, disposition).toEqual([{ field: 'Content-Disposition', message: expect.any(String) }])
		}
	})

	it('keeps a file uploaded twice by a tenant once, under two ids', async () => {
		const file = bytes(20_000, 3)
		const [a, b] = await Promise.all(
			[1, 2].map(async () => (await (await upload(bob, file, { 'content-type': 'video/mp4' })).json()) as { id: string }),
		)
		expect(a!.id).not.toBe(b!.id)
		const [row] = await sql<{ count: number }[]>`select count(*)::int as count from media_blobs where sha256 = ${sha256(file)}`
		expect(row?.count).toBe(1)
	})

	it('refuses a declared length over MEDIA_MAX_BYTES with 413, and a streamed one with 400 MEDIA_TOO_LARGE, keeping nothing', async () => {
		const before = await sql<{ count: number }[]>`select count(*)::int as count from media_blobs`
		await expectError(await upload(alice, bytes(MAX + 1), { 'content-type': 'image/png' }), 413, 'PAYLOAD_TOO_LARGE')
		const stream = new ReadableStream<Uint8Array>({
			start(controller) {
				for (let i = 0; i < 5; i++) controller.enqueue(bytes(100_000, i))
				controller.close()
			},
		})
		await expectError(await upload(alice, stream, { 'content-type': 'image/png' }), 400, 'MEDIA_TOO_LARGE')
		const after = await sql<{ count: number }[]>`select count(*)::int as count from media_blobs`
		expect(after[0]!.count).toBe(before[0]!.count)
	})

	it('refuses an empty file, a body without a type, and a form without a `file` part with 400', async () => {
		await expectError(await upload(alice, new Uint8Array(), { 'content-type': 'image/png' }), 400, 'EMPTY_FILE')
		await expectError(await upload(alice, bytes(10), { 'content-type': 'not a type' }), 400, 'MISSING_MEDIA_TYPE')
		const form = new FormData()
		form.set('other', 'x')
		await expectError(await upload(alice, form), 400, 'EMPTY_FILE')
	})

	const multipart = (user: LoggedInUser, body: string) => upload(user, Buffer.from(body), { 'content-type': 'multipart/form-data; boundary=x' })

	it('refuses a multipart body cut off inside the file with 400, keeps none of its bytes, and goes on serving', async () => {
		const before = await sql<{ count: number }[]>`select count(*)::int as count from media`
		const objects = storedObjects()
		const cut = multipart(
			alice,
			'--x\r\nContent-Disposition: form-data; name="file"; filename="a.txt"\r\nContent-Type: text/plain\r\n\r\nhello, cut off',
		)
		await expectError(await cut, 400, 'MALFORMED_BODY')
		const after = await sql<{ count: number }[]>`select count(*)::int as count from media`
		expect(after[0]?.count).toBe(before[0]?.count)
		// Nothing in the store names what was read of the file: no upload or collection would remove it.
		await until(() => storedObjects().length === objects.length, 'the cut-off file removed from the store')
		expect((await upload(alice, bytes(10, 9), { 'content-type': 'image/png' })).status).toBe(201)
	})

	it('takes a file of exactly MEDIA_MAX_BYTES in a form, whose declared length is larger by the form around it', async () => {
		const file = bytes(MAX, 11)
		const form = new FormData()
		form.set('file', new Blob([file], { type: 'application/octet-stream' }), 'exact.bin')
		const res = await upload(alice, form)
		expect(res.status).toBe(201)
		expect(await res.json()).toMatchObject({ size: MAX, sha256: sha256(file) })
	})

	it('answers a form whose file goes past MEDIA_MAX_BYTES, sent without a length, with 400 MEDIA_TOO_LARGE at once', async () => {
		const head = new TextEncoder().encode(
			'--x\r\nContent-Disposition: form-data; name="file"; filename="big.bin"\r\nContent-Type: application/octet-stream\r\n\r\n',
		)
		// The file runs past the limit and the body keeps coming: no length is declared, and the end is far off.
		let sent = 0
		const body = new ReadableStream<Uint8Array>({
			start(controller) {
				controller.enqueue(head)
			},
			pull(controller) {
				if (sent > MAX * 8) return controller.close()
				sent += 64 * 1024
				controller.enqueue(bytes(64 * 1024, 3))
			},
		})
		await expectError(await upload(alice, body, { 'content-type': 'multipart/form-data; boundary=x' }), 400, 'MEDIA_TOO_LARGE')
	})

	it('refuses a file name with a NUL with 400 naming the part, and keeps the first 255 characters of a long one whole', async () => {
		const part = (name: string) =>
			`--x\r\nContent-Disposition: form-data; name="file"; filename="${name}"\r\nContent-Type: text/plain\r\n\r\nhello\r\n--x--\r\n`
		const error = await expectError(await multipart(alice, part('a\u0000b.txt')), 400, 'VALIDATION_FAILED')
		expect(error.details).toEqual([{ field: 'file', message: 'filename must be valid Unicode text without NUL characters' }])
		const long = await multipart(alice, part('🚀'.repeat(300)))
		expect(long.status).toBe(201)
		const { id } = (await long.json()) as { id: string }
		const name = decodeURIComponent((await download(alice, id)).headers.get('content-disposition')!.split("''")[1]!)
		expect(name).toBe('🚀'.repeat(255))
	})

	it('refuses two files in one upload with 400 TOO_MANY_FILES, and keeps neither', async () => {
		const before = await sql<{ count: number }[]>`select count(*)::int as count from media`
		const part = (name: string, text: string) =>
			`--x\r\nContent-Disposition: form-data; name="file"; filename="${name}"\r\nContent-Type: text/plain\r\n\r\n${text}\r\n`
		const error = await expectError(await multipart(alice, `${part('a.txt', 'first')}${part('b.txt', 'second')}--x--\r\n`), 400, 'TOO_MANY_FILES')
		expect(error.message).toBe('Send one file per upload; this one has more than one')
		const after = await sql<{ count: number }[]>`select count(*)::int as count from media`
		expect(after[0]?.count).toBe(before[0]?.count)
	})

	it('answers 401 without a token', async () => {
		await expectError(
			await fetch(`${app.url}/media`, { method: 'POST', headers: { 'content-type': 'image/png' }, body: bytes(10) }),
			401,
			'UNAUTHORIZED',
		)
	})
})

describe('GET /media/:id', () => {
	let id: string
	const file = bytes(10_000, 9)
	beforeAll(async () => {
		id = ((await (await upload(alice, file, { 'content-type': 'audio/ogg' })).json()) as { id: string }).id
	})

	it('streams the bytes with their type, length and ETag', async () => {
		const res = await download(alice, id)
		expect(res.status).toBe(200)
		expect(res.headers.get('content-type')).toBe('audio/ogg')
		expect(res.headers.get('content-length')).toBe('10000')
		expect(res.headers.get('etag')).toBe(`"${sha256(file)}"`)
		expect(res.headers.get('cache-control')).toBe('private, max-age=31536000, immutable')
		expect(sha256(new Uint8Array(await res.arrayBuffer()))).toBe(sha256(file))
	})

	it('answers ranges with 206, so players can seek', async () => {
		for (const [range, start, end] of [
			['bytes=0-9', 0, 9],
			['bytes=9990-', 9990, 9999],
			['bytes=-5', 9995, 9999],
			['bytes=100-20000', 100, 9999],
		] as const) {
			const res = await download(alice, id, { range })
			expect(res.status).toBe(206)
			expect(res.headers.get('content-range')).toBe(`bytes ${start}-${end}/10000`)
			expect([...new Uint8Array(await res.arrayBuffer())]).toEqual([...file.slice(start, end + 1)])
		}
		for (const range of ['bytes=10000-', 'bytes=-0']) {
			const none = await download(alice, id, { range })
			expect(none.headers.get('content-range')).toBe('bytes */10000')
			const error = await expectError(none, 416, 'RANGE_NOT_SATISFIABLE')
			expect(error.message).toBe('The range selects no byte of the file (10000 bytes)')
		}
	})

	it('answers the whole file to a range that is not one, or to an If-Range naming another version', async () => {
		const etag = `"${sha256(file)}"`
		for (const headers of <Record<string, string>[]>[
			{ range: 'bytes=5-1' },
			{ range: 'bytes=0-1,5-6' },
			{ range: 'lines=1-2' },
			{ range: 'bytes=0-9', 'if-range': '"another"' },
			{ range: 'bytes=0-9', 'if-range': 'Wed, 21 Oct 2026 07:28:00 GMT' },
		]) {
			const res = await download(alice, id, headers)
			expect({ headers, status: res.status }).toEqual({ headers, status: 200 })
			expect(res.headers.get('content-length')).toBe('10000')
			await res.arrayBuffer()
		}
		expect((await download(alice, id, { range: 'bytes=0-9', 'if-range': etag })).status).toBe(206)
	})

	it('answers 304 to an If-None-Match that names its ETag, or is *', async () => {
		const etag = `"${sha256(file)}"`
		for (const value of [etag, `W/${etag}`, `"other", ${etag}`, '*']) expect((await download(alice, id, { 'if-none-match': value })).status).toBe(304)
		expect((await download(alice, id, { 'if-none-match': '"other"' })).status).toBe(200)
	})

	it("answers 404 for another tenant's file and an unknown id alike", async () => {
		await expectError(await download(bob, id), 404, 'NOT_FOUND')
		await expectError(await download(alice, '0197f0c2-3a4b-7c5d-8e9f-0a1b2c3d4e5f'), 404, 'NOT_FOUND')
		await expectError(await api(app).get(`/media/${id}`), 401, 'UNAUTHORIZED')
	})
})
