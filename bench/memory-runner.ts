// The process the memory and scale benchmarks measure: the runner role alone, on this process's main thread
// (not in a Worker) so that `Bun.gc(true)` collects the very heap the sessions live in. Settings
// come from the environment like the server's. IPC in: 'measure', answered { rss, heapUsed } after a
// full collection; 'cpu': the process's CPU time so far (`process.cpuUsage()`, µs); out: 'ready' once
// the runner has started.
import { loadConfig } from '../src/config'
import { openPostgres } from '../src/db/client'
import { createBus } from '../src/bus'
import { createLogger } from '../src/logger'
import { closeRedis, openRedis } from '../src/redis/connection'
import { start } from '../src/roles/runner'

const config = loadConfig()
const logger = createLogger(config).child({ role: 'runner' })
const database = openPostgres({ url: config.databaseUrl!, max: 10, applicationName: 'switchboard-bench-runner' })
const redis = openRedis(config.redisUrl!, logger, 'runner')
const bus = createBus(config, logger, redis)
const runner = await start({ config, logger, database, bus, redis })

process.on('message', async (msg: string) => {
	if (msg === 'measure') {
		Bun.gc(true)
		await Bun.sleep(100)
		Bun.gc(true)
		const { rss, heapUsed } = process.memoryUsage()
		process.send!({ rss, heapUsed })
	} else if (msg === 'cpu') {
		process.send!(process.cpuUsage())
	} else if (msg === 'stop') {
		await runner.stop()
		await bus.close()
		await closeRedis(redis)
		await database.close()
		process.exit(0)
	}
})
process.send!('ready')
