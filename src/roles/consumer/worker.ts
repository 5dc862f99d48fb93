import { hostRole } from '../worker-host'

hostRole('consumer', () => import('./index'), { poolSize: (config) => config.events.consumerConcurrency + 1 })
