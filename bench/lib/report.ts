// Console tables and the JSON result files under bench-results/ (git-ignored).
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { ROOT } from '../../scripts/lib/services.ts'

export const RESULTS_DIR = join(ROOT, 'bench-results')

type Cell = string | number | boolean | undefined | null

function show (cell: Cell): string {
  if (cell === undefined || cell === null) return '-'
  if (typeof cell === 'number') return Number.isInteger(cell) ? String(cell) : cell.toFixed(2)
  return String(cell)
}

/** A plain-text table; numbers right-aligned. */
export function table (headers: string[], rows: Cell[][]): string {
  const text = rows.map(row => row.map(show))
  const widths = headers.map((h, i) => Math.max(h.length, ...text.map(r => (r[i] ?? '').length)))
  const line = (cells: string[], numeric: boolean[]): string =>
    cells.map((c, i) => numeric[i] ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)).join('  ').trimEnd()
  const numericCols = headers.map((_, i) => rows.every(r => typeof r[i] === 'number' || r[i] === undefined || r[i] === null))
  return [
    line(headers, numericCols),
    widths.map(w => '-'.repeat(w)).join('  '),
    ...text.map(r => line(r, numericCols))
  ].join('\n')
}

export function heading (title: string): void {
  console.log(`\n\x1b[1m== ${title}\x1b[0m`)
}

export function note (message: string): void {
  console.error(`\x1b[2m[bench] ${message}\x1b[0m`)
}

/** Writes bench-results/<name>-<timestamp>.json and bench-results/<name>-latest.json. */
export async function writeResult (name: string, data: unknown): Promise<string> {
  await mkdir(RESULTS_DIR, { recursive: true })
  const stamp = new Date().toISOString().replace(/[:.]/g, '-')
  const file = join(RESULTS_DIR, `${name}-${stamp}.json`)
  const json = `${JSON.stringify(data, null, 2)}\n`
  await writeFile(file, json)
  await writeFile(join(RESULTS_DIR, `${name}-latest.json`), json)
  return file
}
