import { hostRole } from '../worker-host'

// Every session writes its Signal keys through this pool; more than the default 5 keeps a burst of
// messages across sessions from queueing behind one another. Baileys leaves timers behind a closed
// socket (its 30 s pre-key upload race among them) that would hold the thread after stop.
hostRole('runner', () => import('./index'), { poolSize: () => 10, exitWhenStopped: true })
