import { Elysia, t } from 'elysia'
import type { AuthPlugin } from '../../plugins/auth'
import { errorBody } from '../../plugins/errors'
import { errorModel, errorResponses } from '../../plugins/error-model'
import { MediaParams, mediaModels } from './model'
import { matchesNoneMatch } from '../../lib/conditional'
import { requestedRange } from './range'
import type { MediaService } from './service'

const FILE_CONTENT = { '*/*': { schema: { type: 'string', format: 'binary' } } } as const
const ETAG = { description: 'The SHA-256 of the bytes, quoted: send it as If-None-Match or If-Range', schema: { type: 'string' } } as const
const ACCEPT_RANGES = { description: '`bytes`: a Range request answers 206', schema: { type: 'string' } } as const

export interface MediaModuleDeps {
	media: MediaService
	authPlugin: AuthPlugin
	maxBytes: number
}

/** `filename*` (RFC 6266/5987): any name, quoted safely. */
const disposition = (fileName: string | null) => (fileName ? `inline; filename*=UTF-8''${encodeURIComponent(fileName)}` : 'inline')

export const mediaModule = ({ media, authPlugin, maxBytes }: MediaModuleDeps) =>
	new Elysia({ name: 'media', prefix: '/media', tags: ['media'] })
		.use(errorModel)
		.use(authPlugin)
		.model(mediaModels)
		.post('', async ({ tenantId, request, status }) => status(201, await media.upload(tenantId, request)), {
			auth: 'messages:send',
			response: { 201: 'MediaUploaded', ...errorResponses(400, 401, 403, 409, 413) },
			detail: {
				summary: 'Upload a file to send',
				// The route reads its stream itself, so no body schema describes it: the document says what it takes.
				requestBody: {
					required: true,
					content: {
						'*/*': { schema: { type: 'string', format: 'binary' } },
						'multipart/form-data': {
							schema: { type: 'object', required: ['file'], properties: { file: { type: 'string', format: 'binary' } } },
						},
					},
				},
				description: `The raw file as the body with its Content-Type (e.g. \`image/jpeg\`) and, for its name, \`Content-Disposition: attachment; filename=…\`, or \`multipart/form-data\` with the file in a field named \`file\`. Streamed to the media store, at most ${maxBytes} bytes (MEDIA_MAX_BYTES; 413 \`PAYLOAD_TOO_LARGE\` on a declared length above it, 400 \`MEDIA_TOO_LARGE\` when more arrives); one file per upload (400 \`TOO_MANY_FILES\`). With MEDIA_QUOTA_BYTES set, an account whose files would take more is refused with 409 \`MEDIA_QUOTA_EXCEEDED\` (\`details.quotaBytes\`, \`details.usedBytes\`); deleting uploads or messages with files makes room at once. Send it with \`{ image | video | audio | document | sticker: { mediaId } }\`.`,
			},
		})
		.delete(
			'/:id',
			async ({ tenantId, params, status }) => {
				await media.remove(tenantId, params.id)
				return status(204, undefined)
			},
			{
				auth: 'messages:send',
				params: MediaParams,
				response: { 204: t.Void({ description: 'No content' }), ...errorResponses(400, 401, 403, 404, 409) },
				detail: {
					summary: 'Delete an upload',
					description:
						"Forgets a file uploaded with POST /media: it answers 404 from then on, and a send naming it too. Messages already sent with it keep their files; a send accepted before the delete that has not gone out yet fails (`media_not_found`). The bytes go once no file names them. 404 for an unknown id, another account's file, or a second delete; 409 `MEDIA_IN_MESSAGE` for a file a message brought, which goes with its message (DELETE /chats/:jid/messages/:messageId?for=me).",
				},
			},
		)
		.post(
			'/:id/download',
			async ({ tenantId, params, status }) => status(202, { id: params.id, state: await media.requestDownload(tenantId, params.id) }),
			{
				auth: 'messages:send',
				params: MediaParams,
				response: { 202: 'MediaDownload', ...errorResponses(400, 401, 403, 404, 409) },
				detail: {
					summary: 'Download a received file from WhatsApp now',
					description:
						"For a received file that is not stored: under `MEDIA_DOWNLOAD=on_demand`, or to try again after it failed. The session's runner fetches, verifies and stores it; `session.media.updated` tells when it is `stored` or `failed`. A stored file answers its state and is not fetched again. 409 `MEDIA_DOWNLOAD_OFF` (MEDIA_DOWNLOAD=off), `MEDIA_NOT_DOWNLOADABLE` (an upload), `SESSION_NOT_CONNECTED`.",
				},
			},
		)
		.get(
			'/:id',
			async ({ tenantId, params, request }) => {
				const file = await media.open(tenantId, params.id)
				const etag = `"${file.sha256}"`
				const headers: Record<string, string> = {
					'content-type': file.mimetype,
					'content-disposition': disposition(file.fileName),
					etag,
					'accept-ranges': 'bytes',
					// The bytes behind an id never change; only the caller may keep them.
					'cache-control': 'private, max-age=31536000, immutable',
				}
				if (matchesNoneMatch(request.headers.get('if-none-match'), etag)) return new Response(null, { status: 304, headers })
				const range = requestedRange(request.headers.get('range'), file.size, etag, request.headers.get('if-range'))
				if (range === 'unsatisfiable')
					return new Response(JSON.stringify(errorBody('RANGE_NOT_SATISFIABLE', `The range selects no byte of the file (${file.size} bytes)`)), {
						status: 416,
						headers: { ...headers, 'content-type': 'application/json; charset=utf-8', 'content-range': `bytes */${file.size}` },
					})
				if (!range) return new Response(file.read(), { headers: { ...headers, 'content-length': String(file.size) } })
				return new Response(file.read(range), {
					status: 206,
					headers: {
						...headers,
						'content-length': String(range.end - range.start + 1),
						'content-range': `bytes ${range.start}-${range.end}/${file.size}`,
					},
				})
			},
			{
				auth: 'messages:read',
				params: MediaParams,
				detail: {
					summary: 'Download a file',
					description:
						"Streams the bytes with `Content-Type`, `Content-Length`, `ETag` (the SHA-256) and `Content-Disposition` (the file name). `Range: bytes=…` answers 206 with that part, so players can seek. 404 for an unknown id and another account's file alike; 409 `MEDIA_NOT_STORED` while a received file is not (yet) stored, with its `state`.",
					responses: {
						200: { description: 'The file', content: FILE_CONTENT, headers: { ETag: ETAG, 'Accept-Ranges': ACCEPT_RANGES } },
						206: {
							description: 'The requested range of the file',
							content: FILE_CONTENT,
							headers: {
								ETag: ETAG,
								'Content-Range': { description: 'The range sent, of the whole: `bytes 0-9/50161`', schema: { type: 'string' } },
							},
						},
						304: { description: 'Not modified (If-None-Match matched the ETag)' },
						...Object.fromEntries(
							[400, 401, 403, 404, 409, 416].map((code) => [
								code,
								{ description: `Error ${code}`, content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } },
							]),
						),
					},
				},
			},
		)
