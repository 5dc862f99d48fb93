import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { cpus, loadavg } from 'node:os'
import { basename, join } from 'node:path'

/**
 * `bun run bench`: runs every `bench/*.bench.ts` (or those named on the command line), prints one
 * table, writes each file's figures to `bench/results/<name>.json` and gathers them all in
 * `bench/results/latest.json`. A bench file's default export resolves with its
 * results; each figure stands next to a baseline measured in the same run, since
 * absolute numbers depend on the machine, and the machine's load before and after is recorded.
 */
export interface BenchResult {
	name: string
	value: number
	unit: string
	/** The same work done the plainest way, in the same unit, measured in the same run. */
	baseline?: number
	baselineName?: string
	/** Throughput: true; latency, memory: false. Tells which side of 1 the ratio should be on. */
	higherIsBetter: boolean
}

export type Bench = () => Promise<BenchResult[]>

const format = (n: number) => (n >= 100 ? Math.round(n).toLocaleString('en-US') : n.toFixed(2))

const ratio = (r: BenchResult) => (r.baseline ? r.value / r.baseline : null)

function table(rows: (BenchResult & { file: string })[]): string {
	const cells = rows.map((r) => [
		r.name,
		format(r.value),
		r.unit,
		r.baseline === undefined ? '' : `${format(r.baseline)}${r.baselineName ? ` (${r.baselineName})` : ''}`,
		r.baseline ? `${ratio(r)!.toFixed(2)}×` : '',
		r.higherIsBetter ? 'higher' : 'lower',
	])
	const header = ['name', 'value', 'unit', 'baseline', 'ratio', 'better']
	const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)))
	const line = (c: string[]) => c.map((v, i) => (i === 1 || i === 4 ? v.padStart(widths[i]!) : v.padEnd(widths[i]!))).join('  ')
	return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.map(line)].join('\n')
}

const machine = (loadAverageBefore: number[]) => ({ cpus: cpus().length, loadAverageBefore, loadAverageAfter: loadavg() })

interface FileFigures {
	at: string
	bun: string
	machine?: ReturnType<typeof machine>
	results: BenchResult[]
}

/**
 * `latest.json` gathers every benchmark's most recent figures from the per-file results, so a run
 * of one benchmark refreshes its own rows and keeps the others' (each row says when and under
 * what load it was taken).
 */
function writeLatest(dir: string): void {
	const files = readdirSync(join(dir, 'results'))
		.filter((f) => f.endsWith('.json') && f !== 'latest.json')
		.sort()
	const results = files.flatMap((f) => {
		const figures = JSON.parse(readFileSync(join(dir, 'results', f), 'utf8')) as FileFigures
		return figures.results.map((r) => ({
			bench: basename(f, '.json'),
			at: figures.at,
			loadAverage: figures.machine?.loadAverageBefore ?? null,
			name: r.name,
			value: r.value,
			unit: r.unit,
			baseline: r.baseline ?? null,
			baselineName: r.baselineName ?? null,
			ratio: ratio(r),
			higherIsBetter: r.higherIsBetter,
		}))
	})
	const latest = { at: new Date().toISOString(), bun: Bun.version, cpus: cpus().length, results }
	writeFileSync(join(dir, 'results', 'latest.json'), `${JSON.stringify(latest, null, '\t')}\n`)
}

if (import.meta.main) {
	const dir = import.meta.dir
	const wanted = process.argv.slice(2)
	const files = readdirSync(dir)
		.filter((f) => f.endsWith('.bench.ts'))
		.filter((f) => !wanted.length || wanted.some((w) => f.includes(w)))
		.sort()
	const results: (BenchResult & { file: string })[] = []
	const failed: string[] = []
	const loadBefore = loadavg()
	mkdirSync(join(dir, 'results'), { recursive: true })
	for (const file of files) {
		console.error(
			`running ${file} … (load average ${loadavg()
				.map((l) => l.toFixed(2))
				.join(' ')})`,
		)
		const fileLoad = loadavg()
		let own: BenchResult[]
		try {
			own = await ((await import(join(dir, file))) as { default: Bench }).default()
		} catch (err) {
			// One broken bench (a missing tool, say) should not hide the others' figures.
			console.error(`${file} failed:`, err)
			failed.push(file)
			continue
		}
		for (const r of own) results.push({ ...r, file: basename(file) })
		const out = join(dir, 'results', `${basename(file, '.bench.ts')}.json`)
		const figures = { at: new Date().toISOString(), bun: Bun.version, machine: machine(fileLoad), results: own }
		writeFileSync(out, `${JSON.stringify(figures, null, '\t')}\n`)
	}
	writeLatest(dir)
	console.log(table(results))
	const { cpus: cpuCount, loadAverageAfter } = machine(loadBefore)
	console.log(
		`\n${cpuCount} CPUs; load average (1, 5, 15 min) before ${loadBefore.map((l) => l.toFixed(2)).join(' ')}, after ${loadAverageAfter.map((l) => l.toFixed(2)).join(' ')}`,
	)
	if (failed.length) console.log(`failed: ${failed.join(', ')}`)
	// Benches may leave pools or workers a moment behind; the table is what counts.
	process.exit(failed.length ? 1 : 0)
}
