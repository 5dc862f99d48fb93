/**
 * What `work` rejects with, to assert on with `expect(await rejectionOf(p))`. When it resolves
 * instead, `{ resolvedWith: value }`: no error class or message matches that. Tests do not use
 * `expect(p).rejects` (see test/lint/expect-await.grit).
 */
export async function rejectionOf(work: unknown): Promise<any> {
	try {
		return { resolvedWith: await work }
	} catch (error) {
		return error
	}
}
