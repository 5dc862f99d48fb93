/** Where a cluster lives and how to reach its nodes, as `REDIS_URL=redis+cluster://…` says. */
export interface ClusterAddress {
	nodes: { host: string; port: number }[]
	tls: boolean
	username?: string
	password?: string
}

const CLUSTER_URL = /^(rediss?)\+cluster:\/\/(?:([^@/]*)@)?([^/?#]+)\/?$/

/** A seed node of a redis+cluster:// URL that cannot be used; `fault` says why, in words. */
export class ClusterNodeError extends Error {
	constructor(
		readonly node: string,
		readonly fault: 'that is not host:port' | 'whose port is not from 1 to 65535',
	) {
		super(`bad cluster node "${node}": a seed node ${fault}`)
	}
}

/**
 * `redis+cluster://[user:password@]host:port[,host:port…]` (`rediss+cluster://` for TLS): the
 * seed nodes of a Redis Cluster; ioredis learns the others from them. Null for any other URL; a
 * ClusterNodeError for a seed node without a host or with a port outside 1–65535. The configuration
 * checks REDIS_URL with it at start, and the Redis connection reads it the same way.
 */
export function parseClusterUrl(url: string): ClusterAddress | null {
	const match = CLUSTER_URL.exec(url)
	if (!match) return null
	const [, scheme, userinfo, hosts] = match
	const nodes = hosts!.split(',').map((hostPort) => {
		const at = hostPort.lastIndexOf(':')
		const host = at > 0 ? hostPort.slice(0, at) : hostPort
		const port = at > 0 ? Number(hostPort.slice(at + 1)) : 6379
		if (!host) throw new ClusterNodeError(hostPort, 'that is not host:port')
		if (!Number.isInteger(port) || port < 1 || port > 65535) throw new ClusterNodeError(hostPort, 'whose port is not from 1 to 65535')
		return { host, port }
	})
	const [user = '', password] = (userinfo ?? '').split(/:(.*)/s)
	return {
		nodes,
		tls: scheme === 'rediss',
		...(user ? { username: decodeURIComponent(user) } : {}),
		...(password !== undefined ? { password: decodeURIComponent(password) } : {}),
	}
}
