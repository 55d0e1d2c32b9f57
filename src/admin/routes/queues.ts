import { createBullBoard } from '@bull-board/api'
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter'
import { FastifyAdapter } from '@bull-board/fastify'
import type { FastifyPluginAsync } from 'fastify'

export const QUEUES_PATH = '/admin/queues'

// Bull Board's React app needs inline styles and its <base href>; fonts from Google are left
// out on purpose (the dashboard falls back to system fonts rather than calling another site).
const BOARD_CSP = {
  defaultSrc: ["'self'"],
  scriptSrc: ["'self'"],
  styleSrc: ["'self'", "'unsafe-inline'"],
  imgSrc: ["'self'", 'data:'],
  fontSrc: ["'self'", 'data:'],
  connectSrc: ["'self'"],
  formAction: ["'self'"],
  frameAncestors: ["'none'"],
  baseUri: ["'self'"]
}

// Of the dashboard's state-changing actions only these are offered: retrying, promoting a
// delayed job, pausing and resuming. Removing, cleaning, emptying or obliterating would drop
// accepted uploads; adding a job or rewriting its data would let a panel user hand the worker
// any path on its disk as "stagedPath" to publish; concurrency and rate limits are settings.
const ALLOWED_CHANGES = [
  /\/api\/queues\/(pause|resume)$/,
  /\/api\/queues\/:queueName\/(retry\/:queueStatus|promote|pause|resume)$/,
  /\/api\/queues\/:queueName\/:jobId\/(retry|promote)$/
]
const READS = new Set(['GET', 'HEAD'])

/**
 * The upload queue's dashboard (Bull Board) at /admin/queues, behind the panel's login like
 * every other admin route: its page redirects anonymous visitors to the login form, its API and
 * static files answer them 401.
 */
const queueRoutes: FastifyPluginAsync = async (fastify) => {
  const serverAdapter = new FastifyAdapter()
  // Registered under a prefix inside the /admin scope, the adapter would only see "/queues".
  serverAdapter.setBasePath(QUEUES_PATH)
  const adapterOptions = {
    displayName: 'Uploads',
    description: 'One job per uploaded file: staged file to storage, then the Image record.',
    // A completed upload has its record; running it again would do nothing useful. (The base
    // adapter reads this option; BullMQAdapter's constructor type leaves it out.)
    allowCompletedRetries: false
  }
  createBullBoard({
    queues: [new BullMQAdapter(fastify.uploadQueue.queue, adapterOptions)],
    serverAdapter,
    options: { uiConfig: { boardTitle: 'Upload queue', miscLinks: [{ text: 'Images admin', url: '/admin/images' }] } }
  })

  fastify.addHook('onRoute', route => {
    const url = route.url ?? ''
    const isPage = !url.startsWith(`${QUEUES_PATH}/api/`) && !url.startsWith(`${QUEUES_PATH}/static/`)
    // Its client sends JSON without the panel's form token: same-origin checks and the
    // SameSite=Strict cookie stand in for it.
    // helmet reads config.helmet per request (its onRoute hook, in the parent scope, has run already).
    const helmet = { contentSecurityPolicy: { useDefaults: false, directives: BOARD_CSP } }
    route.config = Object.assign({}, route.config, { adminApi: !isPage, csrfExempt: true, helmet })
  })
  fastify.addHook('onRequest', async (request, reply) => {
    const url = request.routeOptions.url ?? ''
    if (!READS.has(request.method) && !ALLOWED_CHANGES.some(r => r.test(url))) {
      return reply.code(403).send({ error: 'Forbidden', message: 'Only retrying, promoting, pausing and resuming are allowed in this panel: uploads must not be removed or altered.' })
    }
  })

  await fastify.register(serverAdapter.registerPlugin(), { prefix: '/queues' })
}

export default queueRoutes
