/**
 * An S3-compatible server for tests, in process: single PUTs, multipart uploads, ranged GETs, HEAD
 * and DELETE on path-style URLs (`/<bucket>/<key>`). It keeps objects in memory and checks no
 * signature: it stands in for a bucket, not for S3's security.
 */
export interface FakeS3 {
	endpoint: string
	objects: Map<string, Uint8Array>
	/** Requests by method, to see how the client talked to it. */
	requests: string[]
	close(): void
}

export function startFakeS3(): FakeS3 {
	const objects = new Map<string, Uint8Array>()
	const uploads = new Map<string, Map<number, Uint8Array>>()
	const requests: string[] = []
	let nextUpload = 1
	const server = Bun.serve({
		port: 0,
		hostname: '127.0.0.1',
		async fetch(req) {
			const url = new URL(req.url)
			const key = decodeURIComponent(url.pathname.slice(1))
			const uploadId = url.searchParams.get('uploadId')
			requests.push(`${req.method} ${url.search ? url.search.split('&')[0] : ''}`)
			if (req.method === 'POST' && url.searchParams.has('uploads')) {
				const id = String(nextUpload++)
				uploads.set(id, new Map())
				return new Response(`<InitiateMultipartUploadResult><UploadId>${id}</UploadId></InitiateMultipartUploadResult>`)
			}
			if (req.method === 'PUT' && uploadId) {
				uploads.get(uploadId)!.set(Number(url.searchParams.get('partNumber')), new Uint8Array(await req.arrayBuffer()))
				return new Response(null, { headers: { etag: `"part-${url.searchParams.get('partNumber')}"` } })
			}
			if (req.method === 'POST' && uploadId) {
				const parts = [...uploads.get(uploadId)!.entries()].sort(([a], [b]) => a - b).map(([, bytes]) => bytes)
				objects.set(key, Buffer.concat(parts))
				uploads.delete(uploadId)
				return new Response(`<CompleteMultipartUploadResult><Key>${key}</Key></CompleteMultipartUploadResult>`)
			}
			if (req.method === 'DELETE' && uploadId) {
				uploads.delete(uploadId)
				return new Response(null, { status: 204 })
			}
			if (req.method === 'PUT') {
				objects.set(key, new Uint8Array(await req.arrayBuffer()))
				return new Response(null, { headers: { etag: '"whole"' } })
			}
			const object = objects.get(key)
			if (req.method === 'DELETE') {
				objects.delete(key)
				return new Response(null, { status: 204 })
			}
			if (!object) return new Response('<Error><Code>NoSuchKey</Code></Error>', { status: 404 })
			if (req.method === 'HEAD') return new Response(null, { headers: { 'content-length': String(object.byteLength) } })
			const range = /^bytes=(\d+)-(\d+)$/.exec(req.headers.get('range') ?? '')
			if (range) {
				const [start, end] = [Number(range[1]), Math.min(Number(range[2]), object.byteLength - 1)]
				return new Response(object.slice(start, end + 1), { status: 206, headers: { 'content-range': `bytes ${start}-${end}/${object.byteLength}` } })
			}
			return new Response(object)
		},
	})
	return { endpoint: `http://127.0.0.1:${server.port}`, objects, requests, close: () => server.stop(true) }
}
