import { expect } from 'bun:test'
import { createHash } from 'node:crypto'
import type { Client } from './sessions'

/** The hex SHA-256 of a file, as the API and the stand-in report it. */
export const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex')

/** Uploads `file` through POST /media; resolves with its media id. */
export async function upload(api: Client, file: Uint8Array, mimetype: string): Promise<string> {
	const res = await api.fetch('/media', { method: 'POST', headers: { 'content-type': mimetype }, body: file })
	expect(res.status).toBe(201)
	return ((await res.json()) as { id: string }).id
}
