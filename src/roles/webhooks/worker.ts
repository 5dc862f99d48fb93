import { hostRole } from '../worker-host'

// The consumer loop, a claim and up to four outcome writes may each hold a connection at once.
hostRole('webhooks', () => import('./index'), { poolSize: () => 8 })
