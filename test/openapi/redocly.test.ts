import { spawn } from 'node:child_process'
import { join } from 'node:path'
import t from 'tap'
import { ROOT } from '../../scripts/lib/services.ts'
import { NETWORK_ATTEMPT } from './no-network.ts'

const REDOCLY = join(ROOT, 'node_modules/@redocly/cli/bin/cli.js')

function run (args: string[]): Promise<{ code: number | null, stdout: string, stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', join(import.meta.dirname, 'no-network.ts'), REDOCLY, ...args], {
      cwd: ROOT,
      // redocly.yaml says `telemetry: off` too; no update check either.
      env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_NOTIFICATIONS: 'true', NO_COLOR: '1' }
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', chunk => { stdout += chunk })
    child.stderr.on('data', chunk => { stderr += chunk })
    child.once('error', reject)
    child.once('close', code => resolve({ code, stdout, stderr }))
  })
}

interface LintReport {
  totals: { errors: number, warnings: number, ignored: number }
  problems: Array<{ ruleId: string, severity: string, message: string, location: Array<{ pointer: string }> }>
}

t.test('the OpenAPI document lints clean under Redocly\'s recommended rules, offline', async t => {
  // redocly.yaml: the document, `extends: [recommended]`; .redocly.lint-ignore.yaml: the exceptions.
  const { code, stdout, stderr } = await run(['lint', '--format=json'])
  const report = JSON.parse(stdout) as LintReport
  const problems = report.problems.map(p => `${p.severity} ${p.ruleId} at ${p.location[0]?.pointer}: ${p.message}`)
  t.same(problems, [], 'no problem')
  t.same(report.totals, { errors: 0, warnings: 0, ignored: 5 }, 'only the five exceptions of .redocly.lint-ignore.yaml are ignored')
  t.equal(code, 0, 'redocly lint succeeds', { stderr })
  t.notMatch(stderr, NETWORK_ATTEMPT, 'Redocly never reached for the network')
})
