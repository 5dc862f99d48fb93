import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { assertSameAnswers, startBareLists } from '../../bench/list-bare'
import { type ListApi, startListApi } from '../../bench/list-api'
import { createTestDatabase, type TestDatabase } from '../helpers/database'

// The lists benchmark measures each route against a bare handler of the same SQL and headers; a
// route that grows a field or a header its bare handler lacks stops the benchmark before it
// measures anything. Checked here, so that such a change fails where it is made rather than at
// the next benchmark run.
describe('lists benchmark baseline', () => {
	let testDb: TestDatabase
	let api: ListApi
	let bare: ReturnType<typeof Bun.serve>

	beforeAll(async () => {
		testDb = await createTestDatabase()
		api = await startListApi(testDb.url)
		bare = startBareLists(api)
	})

	afterAll(async () => {
		bare?.stop(true)
		await api?.close()
		await testDb?.drop()
	})

	test('the bare handlers answer the items the list routes answer, with the same headers', async () => {
		expect(await assertSameAnswers(api, `http://127.0.0.1:${bare.port}`)).toBeUndefined()
	})

	test('a difference is caught, and named by its route', async () => {
		// A bare side whose first message names another sender than the route's.
		const other = Bun.serve({
			port: 0,
			hostname: '127.0.0.1',
			fetch: async (req) => {
				const res = await fetch(`http://127.0.0.1:${bare.port}${new URL(req.url).pathname}`)
				const page = (await res.json()) as { items: Record<string, unknown>[] }
				if (new URL(req.url).pathname === '/messages') page.items[0] = { ...page.items[0], pushName: 'Someone else' }
				const headers = new Headers(res.headers)
				headers.delete('content-length')
				return Response.json(page, { headers })
			},
		})
		try {
			const error = await assertSameAnswers(api, `http://127.0.0.1:${other.port}`).catch((err: Error) => err)
			expect(String(error)).toMatch(/GET \/chats\/:jid\/messages .*Someone else/)
		} finally {
			other.stop(true)
		}
	})

	test('an answer without the route’s headers is caught, and named by its route', async () => {
		// The bare handler with its content type alone: cheaper for Bun to send (see startBareLists).
		const plain = startBareLists(api, { oneHeader: true })
		try {
			const error = await assertSameAnswers(api, `http://127.0.0.1:${plain.port}`).catch((err: Error) => err)
			expect(String(error)).toMatch(/GET \/chats \(50 a page\) answers headers content-type, the route cache-control, .*x-request-id/)
		} finally {
			plain.stop(true)
		}
	})
})
