import { hostRole } from '../worker-host'

hostRole('webhooks', () => import('./index'))
