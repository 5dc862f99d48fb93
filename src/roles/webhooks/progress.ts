import { type Bus, compareIds } from '../../bus/bus'
import { DOMAIN_EVENTS, WEBHOOKS_GROUP } from '../../core/streams'
import { splitPosition } from '../../core/webhooks'
import type { Watermark } from './store'

/**
 * How far deliveries may go: up to the oldest domain event the webhooks group has not acknowledged
 * (its deliveries may not be recorded yet, and a later event of the same session must not overtake
 * it), or everything the group has read when nothing is pending.
 */
export async function watermark(bus: Bus): Promise<Watermark> {
	const progress = await bus.groupProgress(DOMAIN_EVENTS, WEBHOOKS_GROUP, { count: 1 })
	if (!progress) return { ms: 0, seq: 0, strict: true }
	const oldest = progress.pending[0]
	const bound = oldest && compareIds(oldest, progress.lastDeliveredId) <= 0 ? oldest : progress.lastDeliveredId
	return { ...splitPosition(bound), strict: bound === oldest }
}

/**
 * Whether every domain event before `position` has its deliveries recorded: the webhooks group
 * holds no unacknowledged entry before it. Only then may the events from `position` on be handed
 * to a dispatcher straight away (an earlier event of the same session could still be recorded).
 */
export async function recordedBefore(bus: Bus, position: string): Promise<boolean> {
	const progress = await bus.groupProgress(DOMAIN_EVENTS, WEBHOOKS_GROUP, { count: 1 })
	const oldest = progress?.pending[0]
	return !oldest || compareIds(oldest, position) >= 0
}
