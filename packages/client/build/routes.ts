import type { App } from '../../../src/app'

// Only for the declaration emit of build.ts: the inferred type of `routes` is printed in full,
// where `App['~Routes']` would stay a reference into the server's source.
declare const app: App
export const routes = app['~Routes']
