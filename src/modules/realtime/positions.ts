/** Stream positions (`<ms>-<seq>`) as clients hand them back in `?since=`. */

const STREAM_ID = /^\d{1,20}-\d{1,20}$/

const MAX_SEQ = 2n ** 64n - 1n

/** A position Redis takes: both numbers within 64 bits (twenty digits may say more). */
export const isStreamId = (value: string) => STREAM_ID.test(value) && value.split('-').every((n) => BigInt(n) <= MAX_SEQ)

/** The position right before `id`, so an exclusive read "after" it starts at `id` itself. */
export function previousId(id: string): string {
	const [ms = '0', seq = '0'] = id.split('-')
	const s = BigInt(seq)
	if (s > 0n) return `${ms}-${s - 1n}`
	const m = BigInt(ms)
	return m === 0n ? '0-0' : `${m - 1n}-${MAX_SEQ}`
}
