// Where the CPU time of a profiled process went, from a .cpuprofile written by `node --cpu-prof`
// (the throughput benchmark's --cpu-prof flag profiles the API and the worker):
//   node bench/profile-summary.ts bench-results/profiles/CPU.<...>.cpuprofile [--top 25]
// Prints self time grouped by package (node_modules/<name>, node:<module>, our files, GC, idle)
// and the functions with the most self time.
import { readFile } from 'node:fs/promises'
import { parseArgs } from 'node:util'
import { table } from './lib/report.ts'

interface ProfileNode {
  id: number
  callFrame: { functionName: string, url: string, lineNumber: number }
  children?: number[]
}

interface Profile {
  nodes: ProfileNode[]
  samples: number[]
  timeDeltas: number[]
  startTime: number
  endTime: number
}

/** The package or area a frame belongs to. */
export function areaOf (url: string, functionName: string): string {
  if (!url) return functionName.startsWith('(') ? functionName : '(native)'
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)
  if (pkg) return pkg[1]!
  if (url.startsWith('node:')) return url.replace(/^node:(internal\/)?/, 'node:').split('/').slice(0, 2).join('/')
  const ours = /\/(src|workers|bench|scripts)\/(.+)$/.exec(url)
  return ours ? `${ours[1]}/${ours[2]}` : url
}

export interface ProfileSummary {
  totalMs: number
  areas: Array<{ area: string, ms: number, share: number }>
  functions: Array<{ fn: string, area: string, ms: number, share: number, callers: string }>
}

const frameName = (node: ProfileNode): string => {
  const { functionName, url, lineNumber } = node.callFrame
  const where = url ? `${url.replace(/^.*node_modules\//, '').replace(/^file:\/\/.*?\/(src|workers|bench)\//, '$1/')}:${lineNumber + 1}` : ''
  return `${functionName || '(anonymous)'} ${where}`.trim()
}

export function summarizeProfile (profile: Profile, top = 25): ProfileSummary {
  const byId = new Map(profile.nodes.map(n => [n.id, n]))
  const parentOf = new Map<number, ProfileNode>()
  for (const node of profile.nodes) for (const child of node.children ?? []) parentOf.set(child, node)
  // The nearest caller that is not native (a native frame says what, its caller says who).
  const callerOf = (id: number): string => {
    let node = parentOf.get(id)
    while (node && !node.callFrame.url && parentOf.has(node.id)) node = parentOf.get(node.id)
    return node ? frameName(node) : '(root)'
  }
  const selfUs = new Map<number, number>()
  profile.samples.forEach((id, i) => selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)))
  const areas = new Map<string, number>()
  const functions = new Map<string, { area: string, us: number, callers: Map<string, number> }>()
  let total = 0
  for (const [id, us] of selfUs) {
    const { functionName, url } = byId.get(id)!.callFrame
    const area = areaOf(url, functionName)
    areas.set(area, (areas.get(area) ?? 0) + us)
    const key = frameName(byId.get(id)!)
    const entry = functions.get(key) ?? { area, us: 0, callers: new Map<string, number>() }
    entry.us += us
    const caller = callerOf(id)
    entry.callers.set(caller, (entry.callers.get(caller) ?? 0) + us)
    functions.set(key, entry)
    total += us
  }
  const busy = total - (areas.get('(idle)') ?? 0)
  const share = (us: number): number => Math.round(us / busy * 1000) / 10
  return {
    totalMs: Math.round(total / 1000),
    areas: [...areas].sort((a, b) => b[1] - a[1]).map(([area, us]) => ({ area, ms: Math.round(us / 1000), share: area === '(idle)' ? Number.NaN : share(us) })),
    functions: [...functions].filter(([, f]) => f.area !== '(idle)').sort((a, b) => b[1].us - a[1].us).slice(0, top)
      .map(([fn, f]) => ({
        fn,
        area: f.area,
        ms: Math.round(f.us / 1000),
        share: share(f.us),
        callers: [...f.callers].sort((a, b) => b[1] - a[1]).slice(0, 2).map(([c, us]) => `${c} (${Math.round(us / f.us * 100)}%)`).join('; ')
      }))
  }
}

if (import.meta.main) {
  const { values, positionals } = parseArgs({ options: { top: { type: 'string', default: '25' } }, allowPositionals: true })
  for (const file of positionals) {
    const summary = summarizeProfile(JSON.parse(await readFile(file, 'utf8')) as Profile, Number(values.top))
    console.log(`\n${file}: ${summary.totalMs} ms sampled; shares are of the non-idle time`)
    console.log(table(['area', 'self ms', '% busy'], summary.areas.slice(0, 20).map(a => [a.area, a.ms, Number.isNaN(a.share) ? undefined : a.share])))
    console.log()
    console.log(table(['function', 'self ms', '% busy', 'called from (share of its self time)'], summary.functions.map(f => [f.fn.slice(0, 70), f.ms, f.share, f.callers.slice(0, 150)])))
  }
}
