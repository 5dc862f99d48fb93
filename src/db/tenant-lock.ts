import { eq } from 'drizzle-orm'
import type { Tx } from './client'
import { tenants } from './schema'

/**
 * Holds the tenant's row until the transaction ends, so that creations counted against a limit
 * of the tenant (sessions, webhooks, API keys) run one at a time: two concurrent requests cannot
 * both see room for one more. `no key update` leaves rows that only reference the tenant free.
 */
export async function lockTenant(tx: Tx, tenantId: string): Promise<void> {
	await tx.select({ id: tenants.id }).from(tenants).where(eq(tenants.id, tenantId)).for('no key update')
}
