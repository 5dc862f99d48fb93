import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Subprocess } from 'bun'
import Redis from 'ioredis'
import { hashTag } from '../../src/redis/slots'
import { freePort, isFree, onFreePort } from './private-redis'
import { waitForOutput } from './process'
import { until } from './until'

export interface ClusterNode {
	port: number
	/** The running server; replaced by `restart`. */
	proc: Subprocess<'ignore', 'pipe', 'pipe'>
	/** A plain connection to this node alone (INFO, CLUSTER …), for the test's questions. */
	admin: Redis
}

export interface RedisClusterHarness {
	/** `redis+cluster://127.0.0.1:<port>,…`: REDIS_URL / TEST_REDIS_URL for this cluster. */
	url: string
	nodes: ClusterNode[]
	/** The live node that serves `key`'s slot as master. */
	masterOf(key: string): Promise<ClusterNode>
	/** `kill -9`: the node dies with whatever it had not replicated yet. */
	kill(node: ClusterNode): Promise<void>
	/** Starts a killed node again (empty, as a node without persistence comes back); it rejoins as a replica. */
	restart(node: ClusterNode): Promise<void>
	/** The node that replicates `master`. */
	replicaOf(master: ClusterNode): Promise<ClusterNode>
	/** Resolves once `node` has at least one replica in sync. */
	untilReplicated(node: ClusterNode, timeoutMs?: number): Promise<void>
	/** Resolves once `key`'s slot is served by a live master and every live node says the cluster is ok. */
	untilServed(key: string, timeoutMs?: number): Promise<ClusterNode>
	/** Commands the live nodes processed so far, summed (`INFO stats`). */
	commandCount(): Promise<number>
	/** How often each kind of error was answered, summed over the live nodes (`INFO errorstats`): `{ CROSSSLOT: 2, … }`. */
	errorCounts(): Promise<Record<string, number>>
	close(): Promise<void>
}

/** CLUSTER KEYSLOT's answer, asked of a node (no copy of the CRC16 here). */
const slotOf = (node: ClusterNode, key: string) => node.admin.cluster('KEYSLOT', key) as Promise<number>

/**
 * A private Redis Cluster from the `redis-server` binary: `masters` masters with one replica each,
 * on free ports, nothing persisted, formed with `redis-cli --cluster create`. `nodeTimeoutMs` is
 * how long a node may be silent before its replica takes over: short enough for a failover test,
 * long enough that a busy machine does not fail nodes over by itself.
 */
export async function startRedisCluster({ masters = 3, nodeTimeoutMs = 5_000 } = {}): Promise<RedisClusterHarness> {
	const dir = mkdtempSync(join(tmpdir(), 'sb-redis-cluster-'))
	const nodes: ClusterNode[] = []
	/** A port for one more node: it and its cluster bus port (port + 10000) free, neither another node's. */
	const nextPort = async (): Promise<number> => {
		for (;;) {
			const port = await freePort()
			const taken = (p: number) => nodes.some((n) => p === n.port || p === n.port + 10_000)
			if (port < 55_000 && !taken(port) && !taken(port + 10_000) && (await isFree(port + 10_000))) return port
		}
	}
	const spawn = async (port: number) => {
		const proc = Bun.spawn(
			[
				'redis-server',
				'--port',
				String(port),
				'--bind',
				'127.0.0.1',
				'--dir',
				dir,
				'--cluster-enabled',
				'yes',
				'--cluster-config-file',
				`nodes-${port}.conf`,
				'--cluster-node-timeout',
				String(nodeTimeoutMs),
				'--save',
				'',
				'--appendonly',
				'no',
			],
			{ stdout: 'pipe', stderr: 'pipe' },
		)
		try {
			await waitForOutput(proc.stdout, /Ready to accept connections/)
		} catch (err) {
			proc.kill('SIGKILL')
			throw err
		}
		return proc
	}
	const admin = (port: number) => new Redis(port, '127.0.0.1', { maxRetriesPerRequest: 1, retryStrategy: () => null, lazyConnect: true })
	try {
		while (nodes.length < masters * 2) {
			const { port, started: proc } = await onFreePort(spawn, nextPort)
			nodes.push({ port, proc, admin: admin(port) })
		}
	} catch (err) {
		for (const n of nodes) n.proc.kill('SIGKILL')
		rmSync(dir, { recursive: true, force: true })
		throw err
	}
	const ports = nodes.map((n) => n.port)
	const live = () => nodes.filter((n) => n.proc.exitCode === null && n.proc.signalCode === null)
	const close = async () => {
		for (const n of nodes) {
			n.admin.disconnect()
			n.proc.kill('SIGKILL')
		}
		await Promise.all(nodes.map((n) => n.proc.exited))
		rmSync(dir, { recursive: true, force: true })
	}
	try {
		const create = Bun.spawn(
			['redis-cli', '--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '1', '--cluster-yes'],
			{ stdout: 'pipe', stderr: 'pipe' },
		)
		if ((await create.exited) !== 0) throw new Error(`redis-cli --cluster create failed: ${await new Response(create.stdout).text()}`)
		await until(
			async () => {
				const infos = await Promise.all(nodes.map((n) => n.admin.info('replication').then((r) => [r, n] as const)))
				const states = await Promise.all(nodes.map((n) => n.admin.cluster('INFO') as Promise<string>))
				const replicasUp = infos.every(([r]) => r.includes('role:master') || r.includes('master_link_status:up'))
				return states.every((s) => s.includes('cluster_state:ok')) && replicasUp
			},
			'the cluster to be formed and its replicas in sync',
			30_000,
		)
	} catch (err) {
		await close()
		throw err
	}

	async function masterOf(key: string): Promise<ClusterNode> {
		const [someone] = live()
		const slot = await slotOf(someone!, key)
		const shards = await someone!.admin.cluster('SLOTS')
		const shard = shards.find(([from, to]) => slot >= from && slot <= to)
		const node = nodes.find((n) => n.port === Number(shard?.[2]?.[1]))
		if (!node) throw new Error(`no master serves the slot of ${key} (${hashTag(key)})`)
		return node
	}

	return {
		url: `redis+cluster://${ports
			.slice(0, masters)
			.map((p) => `127.0.0.1:${p}`)
			.join(',')}`,
		nodes,
		masterOf,
		async kill(node) {
			node.admin.disconnect()
			node.proc.kill('SIGKILL')
			await node.proc.exited
		},
		async restart(node) {
			node.proc = await spawn(node.port)
			node.admin = admin(node.port)
		},
		async replicaOf(master) {
			for (const n of live()) if (new RegExp(`^master_port:${master.port}\\b`, 'm').test(await n.admin.info('replication'))) return n
			throw new Error(`no replica of ${master.port}`)
		},
		async untilReplicated(node, timeoutMs = 30_000) {
			await until(async () => /^slave\d+:.*state=online/m.test(await node.admin.info('replication')), `a replica of ${node.port} in sync`, timeoutMs)
		},
		async untilServed(key, timeoutMs = 30_000) {
			return until(
				async () => {
					const states = await Promise.all(live().map((n) => n.admin.cluster('INFO').catch(() => '') as Promise<string>))
					if (!states.every((s) => s.includes('cluster_state:ok'))) return false
					const master = await masterOf(key).catch(() => null)
					return master && live().includes(master) ? master : false
				},
				`a live master for ${key}`,
				timeoutMs,
			)
		},
		async commandCount() {
			let total = 0
			for (const n of live()) total += Number(/^total_commands_processed:(\d+)/m.exec(await n.admin.info('stats'))?.[1] ?? 0)
			return total
		},
		async errorCounts() {
			const counts: Record<string, number> = {}
			for (const n of live()) {
				const info = await n.admin.info('errorstats')
				for (const [, kind, count] of info.matchAll(/^errorstat_(\w+):count=(\d+)/gm)) counts[kind!] = (counts[kind!] ?? 0) + Number(count)
			}
			return counts
		},
		close,
	}
}
