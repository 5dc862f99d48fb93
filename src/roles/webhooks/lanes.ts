import type { AttemptResult, ClaimedDelivery } from './store'

/** A lane's key: one session's deliveries to one endpoint. */
export const laneKey = (endpointId: string, sessionId: string) => `${endpointId}:${sessionId}`

/** The claimed rows by lane, each lane in stream order; a row outside the stream is a lane of its own. */
export function lanesOf(claimed: readonly ClaimedDelivery[]): Map<string, ClaimedDelivery[]> {
	const lanes = new Map<string, ClaimedDelivery[]>()
	for (const d of claimed) {
		const key = d.sessionId === null ? d.id : laneKey(d.endpointId, d.sessionId)
		const lane = lanes.get(key)
		if (lane) lane.push(d)
		else lanes.set(key, [d])
	}
	const order = (a: ClaimedDelivery, b: ClaimedDelivery) => (a.positionMs ?? 0) - (b.positionMs ?? 0) || (a.positionSeq ?? 0) - (b.positionSeq ?? 0)
	for (const rows of lanes.values()) {
		rows.sort(order)
		// The run's last row holds the lane while the rows before it go out.
		const last = rows.at(-1)!
		for (const d of rows) d.holder = last.locked ? last.id : null
	}
	return lanes
}

/** The rows a lane did not send, given back: only those the claim locked are written (their lock goes). */
export const released = (rows: readonly ClaimedDelivery[]): AttemptResult[] =>
	rows
		.filter((d) => d.locked)
		.map((d) => ({
			id: d.id,
			endpointId: d.endpointId,
			state: 'released',
			nextAttemptAt: null,
			statusCode: null,
			latencyMs: 0,
			error: null,
			gone: false,
			holder: null,
		}))
