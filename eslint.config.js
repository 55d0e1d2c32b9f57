import neostandard from 'neostandard'

export default [
  ...neostandard({ ts: true, ignores: ['node_modules/', '.local/', '.data/', '.tap/', 'test-artifacts/', 'bench-results/'] }),
  {
    rules: {
      // Node runs the .ts files directly: imports name the real file, extension included.
      'import-x/extensions': 'off',
      // `void promise` marks a deliberately unawaited call.
      'no-void': ['error', { allowAsStatement: true }]
    }
  }
]
