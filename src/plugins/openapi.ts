import { openapi } from '@elysiajs/openapi'

/**
 * OpenAPI 3.1 at /swagger/json and its UI at /swagger. `@elysiajs/swagger` is deprecated upstream
 * and leaves WebSocket routes out; this plugin is its successor and lists them.
 */
export const openapiPlugin = openapi({
	path: '/swagger',
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
