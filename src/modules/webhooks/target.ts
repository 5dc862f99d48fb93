import { InvalidInputError, UnprocessableError } from '../../core/errors'
import { PRIVATE_TARGETS_HINT } from '../../core/webhooks'
import { anAddress, literalHost, nameRefusal, type Resolver, refusedAddress } from '../../lib/addresses'

/** How long the URL check waits for DNS: a name that does not resolve in time is left to delivery's check. */
const NAME_CHECK_MS = 2_000

/**
 * A webhook URL as it is stored (`url.href`). 400 for a URL that is not http(s); 422 for one whose
 * host is an address webhooks may not reach, or a name that resolves only to such addresses
 * (`localhost`): said now rather than found in the delivery log. Delivery checks again, on the
 * address it connects to.
 */
export async function checkedUrl(value: string, allowPrivateTargets: boolean, resolve?: Resolver): Promise<string> {
	let url: URL
	try {
		url = new URL(value)
	} catch {
		throw new InvalidInputError('INVALID_URL', '`url` is not a URL', { field: 'url' })
	}
	if (url.protocol !== 'http:' && url.protocol !== 'https:')
		throw new InvalidInputError('INVALID_URL', '`url` must be an http:// or https:// URL', { field: 'url', protocol: url.protocol })
	if (allowPrivateTargets) return url.href
	const literal = literalHost(url)
	const reason = literal ? refusedAddress(literal) : null
	if (reason)
		throw new UnprocessableError(
			'WEBHOOK_TARGET_REFUSED',
			`\`url\` points at ${anAddress(reason)}, which webhooks may not reach${PRIVATE_TARGETS_HINT}`,
			{
				field: 'url',
				address: literal,
				reason,
			},
		)
	const nameReason = literal ? null : await nameRefusal(url.hostname, NAME_CHECK_MS, resolve)
	if (nameReason)
		throw new UnprocessableError(
			'WEBHOOK_TARGET_REFUSED',
			`\`url\` names ${url.hostname}, which resolves to ${anAddress(nameReason)} that webhooks may not reach${PRIVATE_TARGETS_HINT}`,
			{ field: 'url', host: url.hostname, reason: nameReason },
		)
	return url.href
}
