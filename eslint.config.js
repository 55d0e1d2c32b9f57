import neostandard from 'neostandard'
import importX from 'eslint-plugin-import-x'

// The layers of src/ (CONTRIBUTING.md): each imports only the ones below it.
//   core                         domain rules, no I/O, imports nothing of ours
//   config.ts                    settings, read once
//   models, storage, queue, staging   one resource each; core and config only
//   plugins, runtime             shared Fastify plugins and process plumbing
//   http, admin, worker          the three faces; never each other
//   app.ts, server.ts            composition and entry
const LOWER = ['models', 'storage', 'queue', 'staging']
const FACES = ['http', 'admin', 'worker']
const zone = (target, from, except, message) => ({ target: `./src/${target}`, from: `./src/${from}`, ...(except ? { except } : {}), message })

const layerZones = [
  zone('core', '', ['./core'], 'core imports nothing of the project.'),
  zone('config.ts', '', ['./core', './config.ts'], 'config imports only core.'),
  ...LOWER.map(layer => zone(layer, '', ['./core', './config.ts', `./${layer}`], `${layer} imports only core and config.`)),
  ...['plugins', 'runtime'].flatMap(layer => [...FACES, 'app.ts', 'server.ts'].map(upper =>
    zone(layer, upper, undefined, `${layer} is shared plumbing: it must not import ${upper}.`))),
  ...FACES.flatMap(face => FACES.filter(other => other !== face).map(other =>
    zone(face, other, undefined, `${face} and ${other} are separate faces of the service: share through a lower layer.`))),
  ...['test', 'bench', 'scripts', 'workers'].map(dir =>
    ({ target: './src', from: `./${dir}`, message: `src/ never imports ${dir}/.` }))
]

export default [
  ...neostandard({ ts: true, ignores: ['node_modules/', '.local/', '.data/', '.tap/', 'test-artifacts/', 'bench-results/'] }),
  {
    plugins: { 'import-x': importX },
    rules: {
      // Node runs the .ts files directly: imports name the real file, extension included.
      'import-x/extensions': 'off',
      'import-x/no-restricted-paths': ['error', { zones: layerZones }],
      // `void promise` marks a deliberately unawaited call.
      'no-void': ['error', { allowAsStatement: true }]
    }
  },
  {
    // Only the Dropbox backend speaks Dropbox; everything else uses the storage interface.
    files: ['src/**/*.ts', 'workers/**/*.ts'],
    ignores: ['src/storage/dropbox/**'],
    rules: {
      'no-restricted-imports': ['error', { paths: [{ name: 'dropbox', message: 'Only src/storage/dropbox/ imports the Dropbox SDK.' }] }]
    }
  }
]
