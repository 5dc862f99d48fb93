import { ConfigError, loadConfig } from './config'
import { createLogger } from './logger'
import { startServer } from './server'

let config
try {
	config = loadConfig()
} catch (err) {
	if (!(err instanceof ConfigError)) throw err
	console.error(err.message)
	process.exit(1)
}
const logger = createLogger(config)
const server = await startServer(config, logger)

let stopping = false
async function shutdown(signal: string) {
	if (stopping) return
	stopping = true
	logger.info({ signal }, 'shutting down')
	await server.stop()
	logger.info('stopped')
	process.exit(0)
}
process.on('SIGTERM', () => void shutdown('SIGTERM'))
process.on('SIGINT', () => void shutdown('SIGINT'))
