import { hostRole } from './worker-host'

hostRole('consumer', () => import('./consumer'), { poolSize: (config) => config.events.consumerConcurrency + 1 })
