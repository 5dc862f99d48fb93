/**
 * HTTP load from another process: wrk (Debian package `wrk`), so the load generator never shares
 * the event loop or the JIT of the server it measures. One wrk thread: on a 2-core machine the
 * server under test and Postgres need the other core.
 */
export interface LoadResult {
	requests: number
	seconds: number
	/** Requests per second wrk reports. */
	rate: number
}

export interface LoadOptions {
	url: string
	headers?: Record<string, string>
	connections: number
	seconds: number
}

export function requireWrk(): string {
	const wrk = Bun.which('wrk')
	if (!wrk) throw new Error('wrk is not installed: `apt-get install -y wrk` (the list benchmarks load the server from another process)')
	return wrk
}

export async function wrk({ url, headers = {}, connections, seconds }: LoadOptions): Promise<LoadResult> {
	const args = [requireWrk(), '-t1', `-c${connections}`, `-d${seconds}s`, ...Object.entries(headers).flatMap(([k, v]) => ['-H', `${k}: ${v}`]), url]
	const proc = Bun.spawn(args, { stdout: 'pipe', stderr: 'pipe' })
	const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited])
	if (code !== 0) throw new Error(`wrk exited with ${code}: ${err || out}`)
	const num = (re: RegExp) => Number(re.exec(out)?.[1] ?? Number.NaN)
	const requests = num(/(\d+) requests in/)
	const rate = num(/Requests\/sec:\s+([\d.]+)/)
	const non2xx = num(/Non-2xx or 3xx responses: (\d+)/)
	const socketErrors = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out)
	if (non2xx > 0) throw new Error(`${non2xx} of ${requests} responses from ${url} were not 2xx`)
	if (socketErrors?.slice(1).some((n) => Number(n) > 0)) throw new Error(`socket errors loading ${url}: ${socketErrors[0]}`)
	if (!Number.isFinite(rate)) throw new Error(`could not read wrk's output:\n${out}`)
	return { requests, seconds, rate }
}
