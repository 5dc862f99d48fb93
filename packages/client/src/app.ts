/**
 * Inside this repository the client's `App` is the server's own. The build replaces this module
 * in `dist/` by a declaration of the routes alone, which imports nothing but `elysia`.
 */
export type { App } from '../../../src/app'
