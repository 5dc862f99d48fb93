import { mkdtempSync, writeFileSync } from 'node:fs'
import { rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { basename, dirname, extname, join, resolve } from 'node:path'
import type { BinaryNode, proto } from '@whiskeysockets/baileys'
import type { Connection } from '../connection'
import type { EventLog, SentMessage } from '../events'
import type { StandInState } from '../state'
import type { DeliverOptions, DeliveryResult } from '../types'
import { MediaCdn } from './cdn'
import { buildMediaMessage, buildPlainContent, isMediaSpec, MEDIA_KINDS, type BuiltContent } from './content'
import { encryptToFile, type MediaKeyKind } from './crypto'
import { answerRetryRequest } from './retry'
import { inspectSentMedia } from './sent'
import { createMediaCa, type MediaCa } from './tls'
import type { ContentDeliveryResult, DeliverContentOptions, ReuploadResult } from './types'

/** What the media side needs of the stand-in's core. */
export interface MediaHost {
	readonly state: StandInState
	readonly log: EventLog
	readonly sentMessages: SentMessage[]
	deliver(options: DeliverOptions): Promise<DeliveryResult>
}

/** A media file of a message, as the phone that sent it knows it: enough to answer a re-upload request. */
export interface MediaRecord {
	messageId: string
	mediaKey: Uint8Array
	keys: MediaKeyKind
	mediaType: string
	directPath: string
	reupload: ReuploadResult
}

export interface MediaStartOptions {
	hostname: string
	port: number
	publicHostname: string
	/** With a state file, the CA file is written beside it, so its path stays the same across restarts. */
	statePath?: string
}

const REMEMBERED = 10_000

/**
 * The stand-in's media side: its CA, its CDN, the media of delivered messages (for downloads and
 * re-upload requests), and the checks of what companions upload. One per stand-in.
 */
export class MediaHub {
	readonly ca: MediaCa
	/** Where the CA certificate (PEM) is written at start: the `NODE_EXTRA_CA_CERTS` setting. */
	caPath = ''
	private cdnInstance?: MediaCdn
	private dir = ''
	private readonly records = new Map<string, MediaRecord>()
	private readonly contents = new Map<string, proto.IMessage>()
	private readonly plaintexts = new Map<string, string>()

	constructor(private readonly host: MediaHost) {
		// Like the noise root key, the CA lives in the state: a client that trusts it keeps trusting it.
		if (!host.state.mediaCa) {
			host.state.mediaCa = createMediaCa()
			host.state.save()
		}
		this.ca = host.state.mediaCa
	}

	get cdn(): MediaCdn {
		if (!this.cdnInstance) throw new Error('the media CDN is not running')
		return this.cdnInstance
	}

	start(options: MediaStartOptions): void {
		this.dir = mkdtempSync(join(tmpdir(), 'standin-media-'))
		this.caPath = options.statePath ? caFileBeside(options.statePath) : join(this.dir, 'media-ca.pem')
		writeFileSync(this.caPath, this.ca.cert)
		this.cdnInstance = new MediaCdn({ ...options, dir: this.dir, ca: this.ca, log: this.host.log })
		this.cdnInstance.start()
	}

	async stop(): Promise<void> {
		await this.cdnInstance?.stop()
		if (this.dir) await rm(this.dir, { recursive: true, force: true })
	}

	/** Keeps a delivered message's content, so a later reply can quote it and a vote find its poll. */
	remember(id: string, message: proto.IMessage): void {
		this.contents.set(id, message)
		if (this.contents.size > REMEMBERED) this.contents.delete(this.contents.keys().next().value as string)
	}

	lookup(id: string): proto.IMessage | undefined {
		return this.contents.get(id) ?? this.host.sentMessages.find((message) => message.id === id)?.message ?? undefined
	}

	/** Builds a message of any kind (encrypting and publishing its file first) and delivers it like any other. */
	async deliverContent(options: DeliverContentOptions): Promise<ContentDeliveryResult> {
		const account = this.host.state.person(options.to)
		const contact = this.host.state.person(options.from, options.pushName)
		const addressing = options.addressing ?? 'pn'
		let built: BuiltContent
		let record: Omit<MediaRecord, 'messageId'> | undefined
		let media: ContentDeliveryResult['media']
		if (isMediaSpec(options)) {
			const info = MEDIA_KINDS[options.kind]
			const file = this.cdn.newFile('media')
			const encrypted = await encryptToFile(options.file, info.keys, file, options.tamper)
			const location = this.cdn.publish({ file, size: encrypted.encryptedLength }, info.mediaType, options.expired ?? 200)
			built = buildMediaMessage(options, encrypted, location)
			record = {
				mediaKey: encrypted.mediaKey,
				keys: info.keys,
				mediaType: info.mediaType,
				directPath: location.directPath,
				reupload: options.reupload ?? 'SUCCESS',
			}
			media = {
				mediaType: info.mediaType,
				...location,
				mediaKey: encrypted.mediaKey.toString('base64'),
				fileSha256: encrypted.fileSha256.toString('base64'),
				fileEncSha256: encrypted.fileEncSha256.toString('base64'),
				fileLength: encrypted.fileLength,
				mimetype: options.mimetype ?? info.mimetype,
			}
		} else {
			built = buildPlainContent(options, { account, contact, addressing, lookup: (id) => this.lookup(id) })
		}
		const result = await this.host.deliver({
			to: options.to,
			from: options.from,
			id: options.id,
			pushName: options.pushName,
			timestamp: options.timestamp,
			addressing,
			encryption: options.encryption ?? 'signal',
			message: built.message,
			attrs: built.attrs,
		})
		if (record) this.records.set(result.id, { ...record, messageId: result.id })
		return {
			...result,
			message: built.message,
			media,
			messageSecret: built.messageSecret?.toString('base64'),
			vote: built.vote,
		}
	}

	/** Makes a delivered file "expired": the CDN answers `status` for it until a re-upload request is answered. */
	expire(messageId: string, status: 404 | 410 = 410): void {
		const record = this.recordOf(messageId)
		this.cdn.setStatus(record.directPath, status)
	}

	/** What the phone answers to the next re-upload request for this message. */
	setReupload(messageId: string, result: ReuploadResult): void {
		this.recordOf(messageId).reupload = result
	}

	/** `<receipt type="server-error">`: the companion asks the phone to upload a message's media again. */
	async onRetryRequest(connection: Connection, receipt: BinaryNode): Promise<void> {
		const record = this.records.get(receipt.attrs.id ?? '')
		const answer = answerRetryRequest(receipt, record, this.cdn)
		if (record && answer.directPath) record.directPath = answer.directPath
		connection.send(answer.node)
		this.host.log.emit({
			type: 'media-retry',
			id: receipt.attrs.id ?? '',
			device: connection.device?.jid ?? '',
			result: answer.result,
			directPath: answer.directPath,
		})
	}

	/** Checks the media of a message the companion sent against its upload; keeps the decrypted bytes to read back. */
	async inspectSent(sent: SentMessage): Promise<void> {
		const inspected = await inspectSentMedia(sent, this.cdnInstance)
		if (!inspected) return
		sent.media = inspected.media
		if (inspected.plaintextPath) this.plaintexts.set(sent.id, inspected.plaintextPath)
		if (inspected.record) this.records.set(sent.id, { ...inspected.record, messageId: sent.id })
	}

	/** The decrypted bytes of a file a companion uploaded and sent. */
	sentMediaFile(messageId: string): Bun.BunFile {
		const path = this.plaintexts.get(messageId)
		if (!path) throw new Error(`no decrypted media for sent message ${messageId}`)
		return Bun.file(path)
	}

	private recordOf(messageId: string): MediaRecord {
		const record = this.records.get(messageId)
		if (!record) throw new Error(`no media file for message ${messageId}`)
		return record
	}
}

/** `./.standin/state.json` → `/abs/.standin/state-media-ca.pem`: named after the state file, beside it. */
function caFileBeside(statePath: string): string {
	return resolve(dirname(statePath), `${basename(statePath, extname(statePath))}-media-ca.pem`)
}
