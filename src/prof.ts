export const prof: Record<string, { n: number; ms: number; rows: number }> = {}
export async function timed<T>(name: string, rows: number, f: () => Promise<T>): Promise<T> {
	const t = performance.now()
	try { return await f() } finally {
		const p = (prof[name] ??= { n: 0, ms: 0, rows: 0 }); p.n++; p.ms += performance.now() - t; p.rows += rows
	}
}
