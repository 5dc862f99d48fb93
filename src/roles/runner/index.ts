import { hostname } from 'node:os'
import { commandPartition } from '../../core/streams'
import { createRunnerStore } from '../../db/runner-store'
import { createCipher } from '../../lib/crypto'
import { numberRanges } from '../../lib/text'
import { deleteAuthState, loadPostgresAuthState } from '../../whatsapp/auth-state'
import { createMediaStore } from '../../media'
import { mediaRecords } from '../../media/records'
import { openStoredFile } from '../../media/uploads'
import { pictureKeeper } from '../../media/pictures'
import { createBaileysPort } from '../../whatsapp/baileys'
import { createMediaFetcher } from '../../whatsapp/media/fetcher'
import { connectPacer } from '../../whatsapp/pacer'
import { quietLibsignal } from '../../whatsapp/libsignal-console'
import type { WhatsAppPort } from '../../whatsapp/port'
import { trustMediaCa } from '../../whatsapp/media-ca'
import { trustRootKey } from '../../whatsapp/root-key'
import type { RoleDeps, RoleHandle } from '../types'
import { createCommandExecutor } from './commands'
import { leaseOwnership } from './lease-ownership'
import { createRedisLeaseStore } from './leases'
import { runnerMetrics } from './metrics'
import { ownAllPartitions, type OwnershipStats, type PartitionOwnership } from './ownership'
import { createPartitions } from './partitions'
import { createQueryAnswerer } from './queries'
import { createRunnerPublisher } from './publisher'
import { SessionRegistry } from './sessions'

export interface RunnerOptions {
	/** Defaults to the Baileys driver configured from `WA_*` settings. */
	port?: WhatsAppPort
	/**
	 * Defaults to partition leases in Redis when the bus is Redis (any number of runners), else to
	 * owning every partition (embedded mode: one process).
	 */
	ownership?: PartitionOwnership
	/** Unique per runner incarnation; defaults to `<host>:<pid>:<random>`. */
	runnerId?: string
}

export interface RunnerHandle extends RoleHandle {
	readonly runnerId: string
	/** Live ownership counters (lease renewals, takeovers, …): what the metrics export. */
	readonly ownership: OwnershipStats
}

/** A fresh id per start: a restarted runner must never pass for its previous incarnation. */
export const newRunnerId = () => `${hostname()}:${process.pid}:${Math.random().toString(36).slice(2, 8)}`

/**
 * Role `runner`: owns WhatsApp sockets. Executes `session.start` / `stop` / `logout` /
 * `messages.send` from the command partitions it owns, runs one connection per started session
 * through the WhatsApp port, and publishes what the connections emit as domain events. It writes
 * no projection table: the consumer role persists the events.
 *
 * The parts: a session registry (the connections), a command executor, the partitions (one
 * consumer per owned partition, claimed and released through the ownership), and a publisher.
 */
export async function start(deps: RoleDeps, options: RunnerOptions = {}): Promise<RunnerHandle> {
	const { config, database, bus, redis } = deps
	const runnerId = options.runnerId ?? newRunnerId()
	const logger = deps.logger.child({ runner: runnerId })
	const db = database.db
	// Baileys keeps the trusted noise root in a module global: this realm (Worker or main thread)
	// sets it for its own sockets.
	if (config.waRootPublicKey) trustRootKey(config.waRootPublicKey)
	const untrustMediaCa = config.waMediaCaFile ? trustMediaCa(config.waMediaCaFile) : () => {}
	const restoreConsole = quietLibsignal(logger)
	const cipher = createCipher(config.encryptionKey)
	const mediaStore = createMediaStore(config.media)
	const media = createMediaFetcher({
		db,
		store: mediaStore,
		records: mediaRecords(db, cipher),
		logger,
		maxBytes: config.media.maxBytes,
		download: config.media.download,
		mediaHosts: config.waMediaHosts,
	})
	const pacer = connectPacer(config.runnerConnectRate)
	const port =
		options.port ??
		createBaileysPort({
			logger,
			websocketUrl: config.waWebSocketUrl,
			reconnect: config.waReconnect,
			storeTimeoutMs: config.waStoreTimeoutMs,
			pacer,
			media,
			uploads: (tenantId, mediaId) => openStoredFile(db, mediaStore, tenantId, mediaId),
			pictures: pictureKeeper({ db, store: mediaStore }),
		})
	const { commandPartitions } = config.events
	const ownership =
		options.ownership ??
		(redis && bus.kind === 'redis'
			? leaseOwnership({
					store: createRedisLeaseStore({
						redis,
						prefix: config.redisPrefix,
						partitions: commandPartitions,
						commandTimeoutMs: config.ownership.renewEveryMs,
						// An acquisition that waits for its replica must still answer within the command timeout.
						replication: { ...config.redisWait, timeoutMs: Math.min(config.redisWait.timeoutMs, Math.floor(config.ownership.renewEveryMs / 2)) },
					}),
					runnerId,
					partitions: commandPartitions,
					ttlMs: config.ownership.leaseTtlMs,
					renewEveryMs: config.ownership.renewEveryMs,
					safetyMarginMs: config.ownership.safetyMarginMs,
					logger,
				})
			: ownAllPartitions(commandPartitions, runnerId))
	const metrics = runnerMetrics(deps.metrics)
	metrics.watchOwnership(ownership.stats)
	const store = createRunnerStore(db)
	const publisher = createRunnerPublisher({ bus, logger, runnerId })
	const partitionOf = (sessionId: string) => commandPartition(sessionId, commandPartitions)
	// The registry and the executor ask the partitions, which are built last because they drive both.
	const holds = (partition: number) => partitions.holds(partition)

	const sessions = new SessionRegistry({
		port,
		auth: (sessionId, partition) => ({
			load: () => loadPostgresAuthState({ db, sessionId, cipher, fence: ownership.fence(partition) }),
			clear: () => deleteAuthState(db, sessionId),
		}),
		store,
		publisher,
		metrics,
		holds,
		partitionOf,
	})
	const queries = createQueryAnswerer({ sessions, bus, logger })
	const executor = createCommandExecutor({
		sessions,
		store,
		publisher,
		holds,
		partitionOf,
		queries,
		logger,
		connectBacklogMs: () => pacer.backlogMs(),
	})
	const partitions = createPartitions({ bus, ownership, sessions, executor, publisher, store, runnerId, partitionOf, events: config.events, logger })

	await ownership.start(partitions.handlers)
	logger.info({ partitions: numberRanges(partitions.owned()) }, 'runner started')

	return {
		runnerId,
		ownership: ownership.stats,
		async stop() {
			await partitions.stop()
			restoreConsole()
			untrustMediaCa()
			logger.info('runner stopped')
		},
	}
}
