import { randomBytes } from 'node:crypto'

/**
 * The id of a message this service sends, chosen before WhatsApp sees it so a retried command is
 * recognised as the same message. Baileys' own format (`3EB0` + 18 upper-case hex), so the id
 * looks like any web client's.
 */
export const newOutgoingMessageId = () => `3EB0${randomBytes(9).toString('hex').toUpperCase()}`
