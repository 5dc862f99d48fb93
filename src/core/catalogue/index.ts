/**
 * The catalogue of what travels on the streams: every domain event and session command, the
 * schema of its `data`, and the envelope around it. Producers validate before they publish;
 * consumers validate what they read, and an entry that fails goes to the dead-letter stream
 * instead of reaching a handler.
 *
 * Names follow one rule: `session.<thing>.<what happened>` for events (`session.qr.updated`,
 * `session.messages.upsert`; multi-word things in snake_case, `session.pairing_code.updated`),
 * `session.<verb>` or `session.<thing>.<verb>` for commands (`session.start`,
 * `session.messages.send`). The WebSocket and webhooks publish the same names.
 */
export * from './commands'
export * from './envelope'
export * from './events'
export * from './presence'
export * from './queries'
export * from './shapes'
