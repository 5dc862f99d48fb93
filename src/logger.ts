import pino, { type Logger } from 'pino'
import pretty from 'pino-pretty'
import type { Config } from './config'

export type { Logger }

/** Paths pino blanks out wherever they appear in a log line. */
const REDACT_PATHS = [
	'password',
	'*.password',
	'token',
	'*.token',
	'accessToken',
	'*.accessToken',
	'refreshToken',
	'*.refreshToken',
	'authorization',
	'*.authorization',
	'*.headers.authorization',
	'*.headers.cookie',
	'cookie',
	'*.cookie',
	'creds',
	'*.creds',
]

/**
 * JSON lines in production (for log shippers), colourised lines in development. pino-pretty is
 * used as a plain stream rather than a pino transport: transports run in a worker thread, which
 * buys nothing for a dev console and adds a thread per logger.
 */
export function createLogger(config: Pick<Config, 'env' | 'logLevel'>, name = 'switchboard'): Logger {
	const options = { name, level: config.logLevel, redact: { paths: REDACT_PATHS, censor: '[redacted]' } }
	if (config.env === 'development')
		return pino(options, pretty({ colorize: process.stdout.isTTY, translateTime: 'HH:MM:ss.l', sync: true }))
	return pino(options)
}
