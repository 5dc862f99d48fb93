import { distance } from 'fastest-levenshtein'

/** The units setting names end with. */
const UNITS = ['_MS', '_SECONDS', '_BYTES']

/**
 * Variables in the environment that look like a misspelt setting (`REDIS_ULR`, `DATABSE_URL`): a
 * setting that is not read leaves its default in place, and a process can start looking healthy
 * with the wrong database or no Redis at all. Only names of 8 characters or more are compared,
 * with at most two edits (a swap of two neighbours is two), so that the shell's own short names
 * (`HOME` against `HOST`) are never taken for one. A setting's name without its unit
 * (`SHUTDOWN_TIMEOUT` for `SHUTDOWN_TIMEOUT_MS`) counts too, however many letters the unit has.
 */
export function misspeltSettings(names: Iterable<string>, settings: readonly string[]): { name: string; meant: string }[] {
	const known = new Set(settings)
	const found: { name: string; meant: string }[] = []
	for (const name of names) {
		if (known.has(name) || name.length < 8) continue
		const meant =
			settings.find((setting) => setting.length >= 8 && distance(name, setting) <= 2) ??
			settings.find((setting) => UNITS.some((unit) => setting === `${name}${unit}`))
		if (meant) found.push({ name, meant })
	}
	return found
}
