export * from './accounts'
export * from './outbox'
export * from './session-data'
export * from './sessions'
