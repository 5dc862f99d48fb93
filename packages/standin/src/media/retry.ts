import { getBinaryNodeChild, getBinaryNodeChildBuffer, proto, type BinaryNode } from '@whiskeysockets/baileys'
import type { MediaCdn } from './cdn'
import { openRetryRequest, sealRetryNotification } from './crypto'
import type { MediaRecord } from './hub'
import type { ReuploadResult } from './types'

export interface RetryAnswer {
	node: BinaryNode
	result: ReuploadResult
	/** The file's new direct path, when the re-upload succeeded. */
	directPath?: string
}

/**
 * Answers a re-upload request as the phone and the server do together: the phone checks the
 * request (an AES-GCM `ServerErrorReceipt` under HKDF(mediaKey, "WhatsApp Media Retry
 * Notification"), AAD the message id), uploads the file again, and the companion gets
 * `<notification type="mediaretry" id=…>` with the `rmr` it sent and a `MediaRetryNotification`
 * sealed the same way. Baileys' `updateMediaMessage` waits for exactly that.
 */
export function answerRetryRequest(receipt: BinaryNode, record: MediaRecord | undefined, cdn: MediaCdn): RetryAnswer {
	const id = receipt.attrs.id ?? ''
	const rmr = getBinaryNodeChild(receipt, 'rmr')
	const attrs = { from: receipt.attrs.to ?? '', type: 'mediaretry', id, t: String(Math.floor(Date.now() / 1000)) }
	const rmrNode: BinaryNode = { tag: 'rmr', attrs: { ...rmr?.attrs } }
	if (!record) {
		// Without the message the phone has no media key to seal an answer with: a bare error, code NOT_FOUND.
		const code = String(proto.MediaRetryNotification.ResultType.NOT_FOUND)
		return { result: 'NOT_FOUND', node: { tag: 'notification', attrs, content: [rmrNode, { tag: 'error', attrs: { code } }] } }
	}
	let result = record.reupload
	const encrypt = getBinaryNodeChild(receipt, 'encrypt')
	const ciphertext = getBinaryNodeChildBuffer(encrypt, 'enc_p')
	const iv = getBinaryNodeChildBuffer(encrypt, 'enc_iv')
	try {
		if (!ciphertext || !iv) throw new Error('no encrypted receipt')
		if (openRetryRequest(ciphertext, iv, record.mediaKey, id).stanzaId !== id) throw new Error('the receipt names another message')
	} catch {
		result = 'DECRYPTION_ERROR'
	}
	const directPath = result === 'SUCCESS' ? cdn.republish(record.directPath, record.mediaType).directPath : undefined
	const sealed = sealRetryNotification({ stanzaId: id, directPath, result: proto.MediaRetryNotification.ResultType[result] }, record.mediaKey, id)
	return {
		result,
		directPath,
		node: {
			tag: 'notification',
			attrs,
			content: [
				rmrNode,
				{
					tag: 'encrypt',
					attrs: {},
					content: [
						{ tag: 'enc_p', attrs: {}, content: sealed.ciphertext },
						{ tag: 'enc_iv', attrs: {}, content: sealed.iv },
					],
				},
			],
		},
	}
}
