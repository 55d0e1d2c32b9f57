import { availableParallelism } from 'node:os'
import { ExifTool } from 'exiftool-vendored'
import fp from 'fastify-plugin'

declare module 'fastify' {
  interface FastifyInstance {
    /**
     * A pool of long-lived ExifTool processes (perl), for the metadata edits the API cannot do
     * by patching bytes (staging/location/). Processes start on first use, not at boot.
     */
    exiftool: ExifTool
  }
}

export default fp(async (fastify) => {
  const exiftool = new ExifTool({
    // ExifTool is CPU-bound: half the cores at most, so the API keeps the rest.
    maxProcs: Math.max(1, Math.floor(availableParallelism() / 2)),
    // Plain tag semantics: no Metadata Working Group composites deciding what a deletion touches.
    useMWG: false,
    taskTimeoutMillis: 30_000
  })
  fastify.decorate('exiftool', exiftool)
  // Its idle processes never hold the process open (exiftool-vendored unrefs them); a pool in use
  // is ended here, after the server has stopped taking requests.
  fastify.addHook('onClose', async () => { await exiftool.end() })
}, { name: 'exiftool' })
