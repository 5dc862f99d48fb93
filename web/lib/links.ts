/**
 * The web addresses in a message's text, found with a regular expression rather than a library:
 * the ones that also know every top-level domain (linkifyjs) would add about a quarter to the
 * dashboard's first load, and a message links only what its writer spelled out with http(s)://.
 */

export type Piece = string | { href: string; text: string }

const ADDRESS = /\bhttps?:\/\/[^\s<>"]+/gi
/** Punctuation that ends a sentence rather than an address: "see https://example.com." */
const TRAILING = /[.,;:!?'’”»*_~]$/

/** Drops what follows an address in the sentence: end punctuation, and a closing bracket opened before it. */
function trimmed(candidate: string): string {
	let text = candidate
	for (;;) {
		if (TRAILING.test(text)) text = text.slice(0, -1)
		else if (text.endsWith(')') && text.split('(').length < text.split(')').length) text = text.slice(0, -1)
		else if (text.endsWith(']') && text.split('[').length < text.split(']').length) text = text.slice(0, -1)
		else return text
	}
}

/** An address a link may point to: http or https, with a host; null for anything else. */
function safeHref(text: string): string | null {
	try {
		const url = new URL(text)
		return (url.protocol === 'http:' || url.protocol === 'https:') && url.hostname ? url.href : null
	} catch {
		return null
	}
}

/** The text cut into plain runs and links, in order; plain runs stay text (the page escapes them). */
export function withLinks(text: string): Piece[] {
	const pieces: Piece[] = []
	let from = 0
	for (const match of text.matchAll(ADDRESS)) {
		const address = trimmed(match[0])
		const href = safeHref(address)
		if (!href) continue
		if (match.index > from) pieces.push(text.slice(from, match.index))
		pieces.push({ href, text: address })
		from = match.index + address.length
	}
	if (from < text.length) pieces.push(text.slice(from))
	return pieces
}
