/**
 * What an edit does to a message's raw content (protobuf as JSON): it sets the text, or the
 * caption, of the message as it was, and leaves everything else. WhatsApp sends an edit as a
 * partial message (a caption edit is `{imageMessage: {caption}}`, without the file's url and key),
 * and the stored content feeds the REST message, the quote of a reply and Baileys' `getMessage`,
 * which all need the whole message. The message keeps its type: a `conversation` edited by an
 * `extendedTextMessage` stays a `conversation`, and a reply keeps its quote.
 *
 * Setting one field from the newest edit's text is what keeps the merge order-independent:
 * applied to content that an older edit already changed, it gives what it gives on the original.
 * db/projection/statements.ts holds the same rule in SQL, built from the same tables.
 */

/**
 * The messages that wrap another in `message` (disappearing, view once, a document with a
 * caption, …), in the order Baileys' `normalizeMessageContent` unwraps them, at most
 * `WRAPPER_DEPTH` deep; test/whatsapp/mapping.test.ts holds the list to Baileys'.
 */
export const CONTENT_WRAPPERS = [
	'ephemeralMessage',
	'viewOnceMessage',
	'documentWithCaptionMessage',
	'viewOnceMessageV2',
	'viewOnceMessageV2Extension',
	'editedMessage',
	'associatedChildMessage',
	'groupStatusMessage',
	'groupStatusMessageV2',
] as const
export const WRAPPER_DEPTH = 5

/**
 * Where the unwrapped message keeps its text, first match wins (as `textOf` reads it): the message
 * type, the field within it (none: the type's value is the text), and whether the field may be
 * absent (a caption; a text is never left out, an empty one is '').
 */
export const TEXT_FIELDS = [
	{ type: 'conversation', field: undefined, optional: false },
	{ type: 'extendedTextMessage', field: 'text', optional: false },
	{ type: 'imageMessage', field: 'caption', optional: true },
	{ type: 'videoMessage', field: 'caption', optional: true },
	{ type: 'documentMessage', field: 'caption', optional: true },
] as const

type Json = Record<string, unknown>
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v)

/** The path (keys) of the innermost message of `content`. */
function innerPath(content: Json): string[] {
	const path: string[] = []
	let at = content
	for (let depth = 0; depth < WRAPPER_DEPTH; depth++) {
		const wrapper = CONTENT_WRAPPERS.find((w) => isObject(at[w]) && isObject((at[w] as Json).message))
		if (!wrapper) break
		path.push(wrapper, 'message')
		at = (at[wrapper] as Json).message as Json
	}
	return path
}

/** `content` with its text (or caption) set to `text`; as it was when it has no place for one. */
export function editedContent(content: unknown, text: string | undefined): unknown {
	if (!isObject(content)) return content
	const path = innerPath(content)
	const inner = path.reduce<Json>((at, key) => at[key] as Json, content)
	const place = TEXT_FIELDS.find(({ type, field }) => (field === undefined ? typeof inner[type] === 'string' : isObject(inner[type])))
	if (!place) return content
	let changed: unknown
	if (place.field === undefined) changed = text ?? ''
	else {
		const { [place.field]: _old, ...rest } = inner[place.type] as Json
		changed = text === undefined && place.optional ? rest : { ...rest, [place.field]: text ?? '' }
	}
	return withAt(content, [...path, place.type], changed)
}

/** A copy of `json` with the value at `path` replaced (the objects along it copied, nothing else). */
function withAt(json: Json, path: readonly string[], value: unknown): Json {
	const [key, ...rest] = path
	return { ...json, [key!]: rest.length ? withAt(json[key!] as Json, rest, value) : value }
}
