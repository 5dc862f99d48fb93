import { createTestDatabase } from '../test/helpers/database'
import { assertSameAnswers, startBareLists } from './list-bare'
import { alternatingRates, LIST_ROUTES, type ListRoute, startListApi } from './list-api'
import { requireWrk } from './load'
import type { BenchResult } from './run'

/**
 * The list routes under load (50 items a page, a valid access token, the tenant's session named),
 * against bare handlers that run the same SQL and serialise the same items with the same headers
 * (see list-bare.ts): what the framework, auth, validation and mapping cost on top of the queries.
 * The load comes from wrk in another process, the same for both. A last figure shows what those
 * headers cost the bare handler itself.
 */
export default async function listsBench(): Promise<BenchResult[]> {
	requireWrk()
	const testDb = await createTestDatabase()
	const api = await startListApi(testDb.url)
	const { url, headers } = api
	let bare: ReturnType<typeof Bun.serve> | undefined
	let plain: ReturnType<typeof Bun.serve> | undefined
	try {
		bare = startBareLists(api)
		plain = startBareLists(api, { oneHeader: true })
		const bareUrl = `http://127.0.0.1:${bare.port}`

		// Both sides answer the same items before anything is timed.
		await assertSameAnswers(api, bareUrl)

		const results: BenchResult[] = []
		for (const [route, name] of Object.entries(LIST_ROUTES) as [ListRoute, string][]) {
			const [value, baseline] = await alternatingRates([
				{ url: url + api.routes[route], headers },
				{ url: `${bareUrl}/${route}`, headers: {} },
			])
			results.push({ name, value: value!, unit: 'req/s', baseline, baselineName: 'bare Bun.serve, same SQL and headers', higherIsBetter: true })
		}
		// What the answer's headers cost the bare handler itself (see startBareLists).
		const [withHeaders, oneHeader] = await alternatingRates([
			{ url: `${bareUrl}/chats`, headers: {} },
			{ url: `http://127.0.0.1:${plain.port}/chats`, headers: {} },
		])
		results.push({
			name: 'GET /chats, bare, with the route’s headers',
			value: withHeaders!,
			unit: 'req/s',
			baseline: oneHeader,
			baselineName: 'the same with a content type alone',
			higherIsBetter: true,
		})
		return results
	} finally {
		plain?.stop(true)
		bare?.stop(true)
		await api.close()
		await testDb.drop()
	}
}
