import { InvalidInputError } from '../../core/errors'
import { isStreamId } from '../realtime/positions'

/**
 * Where a replay starts: the stream position `since` names, or the first position of the time or
 * date it names (`<ms>-0`). 400 `INVALID_SINCE` for anything else.
 */
export function replayStart(since: string): string {
	if (isStreamId(since)) return since
	const ms = sinceTime(since)
	// Positions start at 1970: a time before it names none.
	if (ms === null || ms < 0)
		throw new InvalidInputError(
			'INVALID_SINCE',
			'`since` must be a stream position (`<ms>-<seq>`), an ISO-8601 date and time with its zone (2026-12-01T09:00:00Z) or a date (2026-12-01, from midnight UTC), from 1970 on',
			{ field: 'since' },
		)
	return `${ms}-0`
}

/**
 * Epoch ms of an ISO-8601 date (its midnight, UTC) or date and time with its zone (`Z` or `±hh:mm`);
 * null for anything looser: Date.parse takes "1", rolls 2026-02-30 over to March and reads a time
 * without a zone in the server's own.
 */
function sinceTime(since: string): number | null {
	const parts = /^(\d{4})-(\d{2})-(\d{2})(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:\d{2}))?$/i.exec(since)
	const ms = parts ? Date.parse(since) : Number.NaN
	if (!parts || Number.isNaN(ms)) return null
	const [, year, month, day] = parts.map(Number)
	const date = new Date(Date.UTC(year!, month! - 1, day!))
	return date.getUTCFullYear() === year && date.getUTCMonth() === month! - 1 && date.getUTCDate() === day ? ms : null
}
