import { type Config, ConfigError, loadConfig } from './config'
import { createLogger } from './logger'
import { startServer } from './server'
import { explainStartupFailure } from './config/startup'

let config: Config
try {
	config = loadConfig()
} catch (err) {
	if (!(err instanceof ConfigError)) throw err
	console.error(err.message)
	process.exit(1)
}
const logger = createLogger(config)
const starting = startServer(config, logger)

let stopping = false
async function shutdown(signal: string) {
	if (stopping) return
	stopping = true
	logger.info({ signal }, 'shutting down')
	// A signal during start waits for it: role workers being spawned must be stopped, not orphaned.
	const server = await starting
	await server.stop()
	logger.info('stopped')
	process.exit(0)
}
// Registered before the start finishes, so an early SIGTERM still shuts down cleanly.
process.on('SIGTERM', () => void shutdown('SIGTERM'))
process.on('SIGINT', () => void shutdown('SIGINT'))
try {
	await starting
} catch (err) {
	// One line naming what to fix, rather than a library's stack; the stack is in the log at debug.
	logger.debug({ err }, 'start failed')
	console.error(explainStartupFailure(err, config))
	process.exit(1)
}
