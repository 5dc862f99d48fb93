/**
 * A JSON body Elysia sends as it is. Elysia checks a returned object against the route's response
 * schema, item by item and format by format; on a 50-item page that check cost more CPU than the
 * SQL behind it. List routes build their items from typed rows (TypeScript holds them to the
 * schema, which still documents the route and types the Eden client) and return this instead.
 */
export function jsonResponse(body: unknown, status = 200): Response {
	return new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json; charset=utf-8' } })
}
