import { openapi } from '@elysiajs/openapi'
import { FormatRegistry } from '@sinclair/typebox'
import { fullFormats } from 'elysia/type-system/format'

/**
 * OpenAPI 3.1 at /swagger/json. `@elysiajs/swagger` is deprecated upstream and leaves WebSocket
 * routes out; this plugin is its successor and lists them. Its own UI page loads its script from a
 * CDN: the API reference plugin serves the page instead.
 */
export const openapiPlugin = openapi({
	path: '/swagger',
	provider: null,
	documentation: {
		info: {
			title: 'Switchboard API',
			version: '0.1.0',
			description: 'Multi-tenant WhatsApp Web sessions: REST + realtime WebSocket.',
		},
		components: {
			securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } },
		},
	},
})

// Importing @elysiajs/openapi 1.4.16 replaces TypeBox's string formats (uuid, email, date-time,
// ...) process-wide with checks that build a valibot/zod schema on every call, ~50x slower than
// Elysia's own regexes. Put Elysia's back; the document generation does not use them.
for (const [name, check] of Object.entries(fullFormats)) {
	if (check instanceof RegExp) FormatRegistry.Set(name, (value) => check.test(value))
	else if (typeof check === 'function') FormatRegistry.Set(name, check as (value: string) => boolean)
}
