/** Display helpers. */

/** `15551234567@s.whatsapp.net` → `+15551234567`; groups and LIDs as they are. */
export function phoneOf(jid: string | null | undefined): string {
	if (!jid) return ''
	const [user, server] = jid.split('@')
	return server === 's.whatsapp.net' ? `+${user!.split(':')[0]}` : jid
}

const sameDay = (a: Date, b: Date) => a.toDateString() === b.toDateString()

/** A time as a chat list shows it: the hour today, the date before. */
export function shortTime(iso: string | null | undefined): string {
	if (!iso) return ''
	const date = new Date(iso)
	return sameDay(date, new Date()) ? date.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' }) : date.toLocaleDateString()
}

export const fullTime = (iso: string) => new Date(iso).toLocaleString()

/** Epoch seconds (events) → ISO time (the REST shape). */
export const isoOf = (seconds: number) => new Date(seconds * 1000).toISOString()

export const STATUS_LABEL: Record<string, string> = {
	starting: 'Starting',
	qr: 'Waiting for QR scan',
	connected: 'Connected',
	reconnecting: 'Reconnecting',
	stopped: 'Stopped',
	logged_out: 'Logged out',
	failed: 'Failed',
}
