import { DOMAIN_EVENT_TYPES } from '../core/catalogue'

/**
 * Labels are bounded: event types come from the catalogue ("other" for anything else), disconnect
 * reasons and codes from the WhatsApp driver's classification. No tenant, session or user value
 * ever becomes a label.
 */
const KNOWN_EVENT_TYPES = new Set<string>(DOMAIN_EVENT_TYPES)
export const eventTypeLabel = (type: string) => (KNOWN_EVENT_TYPES.has(type) ? type : 'other')
