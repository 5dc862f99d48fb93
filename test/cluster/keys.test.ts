import { describe, expect, it } from 'bun:test'
import { streamKey } from '../../src/bus/redis-bus'
import { commandStream, deadLetterStream, DOMAIN_EVENTS, queryStream } from '../../src/core/streams'
import { parseClusterUrl } from '../../src/config/cluster-url'
import { beside, hashTag } from '../../src/redis/slots'
import { leaseKeys } from '../../src/roles/runner/leases'

describe('Redis Cluster addresses', () => {
	it('reads the seed nodes, credentials and TLS of a redis+cluster:// URL', () => {
		expect(parseClusterUrl('redis+cluster://10.0.0.1:7000,10.0.0.2:7001,node-3')).toEqual({
			nodes: [
				{ host: '10.0.0.1', port: 7000 },
				{ host: '10.0.0.2', port: 7001 },
				{ host: 'node-3', port: 6379 },
			],
			tls: false,
		})
		expect(parseClusterUrl('rediss+cluster://default:p%40ss:word@cfg.example.com:6379/')).toEqual({
			nodes: [{ host: 'cfg.example.com', port: 6379 }],
			tls: true,
			username: 'default',
			password: 'p@ss:word',
		})
		expect(parseClusterUrl('redis://127.0.0.1:6379')).toBeNull()
		expect(() => parseClusterUrl('redis+cluster://h:99999')).toThrow('bad cluster node')
	})
})

describe('keys that are used together share a hash slot', () => {
	it('hashes the first non-empty {tag}, else the whole key', () => {
		expect(hashTag('sb:session-commands:{7}:lease')).toBe('7')
		expect(hashTag('sb:domain-events')).toBe('sb:domain-events')
		expect(hashTag('sb:{}:x{y}')).toBe('sb:{}:x{y}')
		expect(beside('sb:domain-events', ':dead')).toBe('{sb:domain-events}:dead')
		expect(beside('sb:session-commands:{7}', ':dead')).toBe('sb:session-commands:{7}:dead')
	})

	it('keeps a stream, its dead letters, a partition’s queries and lease in one slot', () => {
		const p = 'sb:'
		expect(hashTag(streamKey(p, deadLetterStream(DOMAIN_EVENTS)))).toBe(hashTag(streamKey(p, DOMAIN_EVENTS)))
		const commands = streamKey(p, commandStream('some-session', 32))
		const tag = hashTag(commands)
		const partition = Number(tag)
		expect(
			[
				streamKey(p, deadLetterStream(commandStream('some-session', 32))),
				streamKey(p, queryStream(partition)),
				leaseKeys(p, partition).lease,
				leaseKeys(p, partition).owner,
			].map(hashTag),
		).toEqual([tag, tag, tag, tag])
	})
})
