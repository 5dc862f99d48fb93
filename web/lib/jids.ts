/**
 * A person or chat as the API lists it: filed under one JID, with its phone-number and LID forms
 * beside it when known. A person who writes by LID is named by either, depending on the event.
 */
export interface FiledUnder {
	jid: string
	pnJid: string | null
	lidJid: string | null
}

/** Every JID a row names its person or chat by. */
export const formsOf = (row: FiledUnder): string[] => [row.jid, row.pnJid, row.lidJid].filter((j): j is string => Boolean(j))

/** Whether two rows are the same person or chat: any of their JIDs match. */
export const sameOne = (a: FiledUnder, b: FiledUnder) => formsOf(a).some((j) => formsOf(b).includes(j))
