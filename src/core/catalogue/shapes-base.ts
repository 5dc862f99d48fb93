import { Type as T, type Static } from '@sinclair/typebox'
import { MAX_MESSAGE_STATUS } from '../message-status'

/** Scalars the catalogue's shapes are made of. */

export const Uuid = T.String({ pattern: '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$' })
export const IsoTime = T.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(\\.\\d+)?(Z|[+-]\\d{2}:\\d{2})$' })

export const Jid = T.String({ minLength: 3, maxLength: 320, description: 'WhatsApp JID (…@s.whatsapp.net, …@lid, …@g.us)' })

/** The largest value of a PostgreSQL `integer` column: counts, sizes and durations the catalogue carries stay within it. */
export const INT32_MAX = 2 ** 31 - 1
/** The latest epoch second the catalogue takes (the year 36812): anything later is no time at all. */
export const EPOCH_SECONDS_MAX = 2 ** 40
/** Epoch seconds, as WhatsApp numbers them (the runner turns Baileys `Long`s into numbers). */
export const EpochSeconds = T.Integer({ minimum: 0, maximum: EPOCH_SECONDS_MAX })
/** Epoch seconds to the millisecond, where the order of changes within a second matters (reactions, votes). */
export const EpochTime = T.Number({ minimum: 0, maximum: EPOCH_SECONDS_MAX })

/** A message status code (see core/message-status.ts: 0 error … 5 played). */
export const MessageStatus = T.Integer({ minimum: 0, maximum: MAX_MESSAGE_STATUS })
export type MessageStatus = Static<typeof MessageStatus>
