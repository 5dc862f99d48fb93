import pino, { type DestinationStream, type Logger } from 'pino'
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

/** Fields of database errors that repeat what was sent or stored: values, never logged. */
const VALUE_FIELDS = new Set(['parameters', 'params', 'args', 'detail', 'where', 'hint', 'position', 'types'])

/**
 * An error as logs show it: its type, code, message and stack, and its cause, without the values
 * it carries. Drizzle's query errors put the statement's parameters (message texts, recipients,
 * search terms) into their message and so into their stack; those become the statement alone.
 */
export function safeError(err: unknown, depth = 0): Record<string, unknown> {
	if (!(err instanceof Error)) return { type: typeof err }
	const e = err as Error & Record<string, unknown>
	const type = e.constructor?.name || e.name
	const query = typeof e.query === 'string' && 'params' in e ? e.query : undefined
	const message = query !== undefined ? `Failed query: ${query}` : e.message
	const out: Record<string, unknown> = { type, message }
	// The stack's first lines are the message again; keep only the frames.
	const frames = e.stack?.split('\n').filter((line) => line.startsWith('    at '))
	if (frames?.length) out.stack = [`${type}: ${message}`, ...frames].join('\n')
	for (const [key, value] of Object.entries(e)) {
		if (key === 'cause' || key === 'message' || key === 'stack' || key === 'query' || VALUE_FIELDS.has(key)) continue
		if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') out[key] = value
	}
	if (e.cause !== undefined && depth < 3) out.cause = safeError(e.cause, depth + 1)
	return out
}

/**
 * JSON lines in production (for log shippers), colourised lines in development. pino-pretty is
 * used as a plain stream rather than a pino transport: transports run in a worker thread, which
 * buys nothing for a dev console and adds a thread per logger.
 */
export function createLogger(config: Pick<Config, 'env' | 'logLevel'>, name = 'switchboard', destination?: DestinationStream): Logger {
	const options = {
		name,
		level: config.logLevel,
		redact: { paths: REDACT_PATHS, censor: '[redacted]' },
		serializers: { err: safeError },
	}
	if (destination) return pino(options, destination)
	if (config.env === 'development') return pino(options, pretty({ colorize: process.stdout.isTTY, translateTime: 'HH:MM:ss.l', sync: true }))
	return pino(options)
}
