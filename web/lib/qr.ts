// The encoder of the `qrcode` package without its renderers (canvas, PNG), which the page does not need.
import { create } from 'qrcode/lib/core/qrcode.js'

/**
 * The QR of `payload` as an SVG data URL. Drawn in the page from the payload the WebSocket
 * delivers, so a new QR shows the moment it arrives, without a round trip to GET /sessions/:id/qr
 * (which reads what the database has stored, possibly a moment later).
 */
export function qrDataUrl(payload: string): string {
	const { modules } = create(payload, { errorCorrectionLevel: 'M' }) as { modules: { size: number; data: Uint8Array } }
	const { size, data } = modules
	const margin = 2
	let path = ''
	for (let y = 0; y < size; y++) for (let x = 0; x < size; x++) if (data[y * size + x]) path += `M${x + margin} ${y + margin}h1v1h-1z`
	const side = size + 2 * margin
	const svg = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${side} ${side}" shape-rendering="crispEdges"><rect width="100%" height="100%" fill="#fff"/><path d="${path}" fill="#000"/></svg>`
	return `data:image/svg+xml,${encodeURIComponent(svg)}`
}
