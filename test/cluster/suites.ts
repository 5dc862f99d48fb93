import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { REPO_ROOT } from '../helpers/process'
import { startRedisCluster, type RedisClusterHarness } from '../helpers/redis-cluster'

/** What a cluster client or server says when keys of one command, script or pipeline live in different slots. */
const CROSS_SLOT = /CROSSSLOT|should belong to the same slot/

/**
 * Runs test files written for a single Redis against a private Redis Cluster: each in a `bun test`
 * of its own with TEST_REDIS_URL set to the cluster (the helpers open every connection from it,
 * and the servers and runner processes the files start inherit it). The same cases, not copies of
 * them; one cluster for the files of one caller. A file passes when its run passes and no node of
 * the cluster ever answered CROSSSLOT.
 */
export function runOnCluster(title: string, files: readonly string[], { timeoutMs = 300_000 } = {}) {
	describe(title, () => {
		let cluster: RedisClusterHarness
		beforeAll(async () => {
			cluster = await startRedisCluster()
		}, 60_000)
		afterAll(async () => {
			await cluster?.close()
		})

		for (const file of files) {
			it(
				`${file} passes on a 3-master cluster`,
				async () => {
					const commandsBefore = await cluster.commandCount()
					const run = Bun.spawn(['bun', 'test', '--timeout', '30000', file], {
						cwd: REPO_ROOT,
						env: { ...process.env, TEST_REDIS_URL: cluster.url },
						stdout: 'pipe',
						stderr: 'pipe',
					})
					const [out, err, code] = await Promise.all([new Response(run.stdout).text(), new Response(run.stderr).text(), run.exited])
					const output = out + err
					if (code !== 0) console.error(output)
					expect(code).toBe(0)
					// bun's summary: some tests ran, none failed.
					expect(output).toMatch(/^ [1-9]\d* pass$/m)
					expect(output).toMatch(/^ 0 fail$/m)
					expect(output).not.toMatch(CROSS_SLOT)
					// The file ran against the cluster, not against a Redis of its own choosing.
					expect(await cluster.commandCount()).toBeGreaterThan(commandsBefore + 100)
					expect(await cluster.errorCounts()).not.toHaveProperty('CROSSSLOT')
				},
				timeoutMs,
			)
		}
	})
}
