/**
 * Whether the `failures`-th failure in a row is worth a log line: the 1st, 2nd, 4th, 8th… A loop
 * that retries every few seconds through an outage (Redis away for an hour) then writes a dozen
 * lines instead of hundreds, each with the count so far, and still says at once that it began.
 */
export const worthLogging = (failures: number): boolean => failures > 0 && (failures & (failures - 1)) === 0
