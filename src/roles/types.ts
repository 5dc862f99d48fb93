import type { RedisClient } from '../lib/redis-client'
import type { Registry } from 'prom-client'
import type { Config } from '../config'
import type { Database } from '../db/client'
import type { Bus } from '../bus/bus'
import type { Logger } from '../logger'

/**
 * What a role gets, built by the process (inline roles) or by its Worker entry (own connections).
 * In a Worker every dependency is the worker's own: its Postgres pool, its Redis connection, a
 * Redis bus on that connection.
 */
export interface RoleDeps {
	config: Config
	/** Already a child logger naming the role. */
	logger: Logger
	database: Database
	bus: Bus
	/** Null in embedded mode (in-process bus); leases and heartbeats live here. */
	redis: RedisClient | null
	/** Where the role records its metrics (the Worker's registry, or the main thread's inline); absent when metrics are off. */
	metrics?: Registry
}

export interface RoleHandle {
	/** Stops taking work, finishes and acknowledges what is in hand, releases what `start` opened. */
	stop(): Promise<void>
}

/** A role is a plain module: `export async function start(deps): Promise<RoleHandle>`. */
export interface RoleModule {
	start(deps: RoleDeps): Promise<RoleHandle>
}

export type WorkerRole = 'runner' | 'consumer' | 'webhooks'
