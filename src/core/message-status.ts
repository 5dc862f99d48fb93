/**
 * A message's delivery status. WhatsApp numbers it (proto `WebMessageInfo.Status`: ERROR 0,
 * PENDING 1, SERVER_ACK 2, DELIVERY_ACK 3, READ 4, PLAYED 5); events and the database keep the
 * number, the API shows the name at the same index.
 */
export const MESSAGE_STATUSES = ['error', 'pending', 'server_ack', 'delivered', 'read', 'played'] as const
export type MessageStatusName = (typeof MESSAGE_STATUSES)[number]

/** The number of each status, as events carry it. */
export const MessageStatusCode = Object.fromEntries(MESSAGE_STATUSES.map((name, code) => [name, code])) as {
	readonly [K in MessageStatusName]: number
}

export const MAX_MESSAGE_STATUS = MESSAGE_STATUSES.length - 1

export const messageStatusName = (code: number | null | undefined): MessageStatusName | null =>
	code === null || code === undefined ? null : (MESSAGE_STATUSES[code] ?? null)

/**
 * Status only moves forward, in this order: pending < error < server_ack < delivered < read <
 * played. An error outranks pending (the send failed after it was queued) and nothing else: a
 * receipt that arrives after a failure report proves the message went out after all. Unknown
 * (no status) ranks below everything. The SQL merge of the projection ranks the same way.
 */
export const messageStatusRank = (code: number | null | undefined): number => (code === null || code === undefined ? -1 : code === 0 ? 3 : code * 2)
