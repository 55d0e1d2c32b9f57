import { createBullBoard } from '@bull-board/api'
import type { UIConfig } from '@bull-board/api/typings/app'
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
 * The dashboard's header: the way back to the panel and out of it (its menu can only link, so
 * "Log out" opens the panel's log-out page, whose button posts), and every date in the operators'
 * zone. Bull Board formats dates in the browser with Intl.DateTimeFormat and these options, so
 * one `timeZone` in all three formats (today, this year, older) puts its times in ADMIN_TIME_ZONE;
 * the zone's name goes beside each time and in the badge.
 */
export function boardUiConfig (timeZone: string): UIConfig {
  const format: Intl.DateTimeFormatOptions = {
    timeZone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23', timeZoneName: 'short'
  }
  return {
    boardTitle: 'Upload queue',
    miscLinks: [
      { text: 'Back to images', url: '/admin/images' },
      { text: 'Audit log', url: '/admin/audit' },
      { text: 'Log out', url: '/admin/logout' }
    ],
    hideDocsLink: true,
    dateFormats: { short: format, common: format, full: format },
    environment: { label: `Times in ${timeZone}`, color: '#203040', textColor: '#ffffff' }
  }
}

// Bull Board puts miscLinks in an unlabelled menu behind an icon, where a first-time operator
// does not look; this bar keeps the way back in sight on every screen size. Plain links with
// inline styles (the board's policy allows them), outside the React root, so the app leaves it be.
const PANEL_BAR = '<nav aria-label="Admin panel" id="panel-bar" style="position:fixed;left:0;bottom:0;z-index:2147483647;display:flex;gap:1rem;' +
  'padding:.45rem .9rem;background:#203040;border-top-right-radius:6px;font:14px/1.4 system-ui,sans-serif">' +
  ['<a href="/admin/images">← Back to images</a>', '<a href="/admin/audit">Audit log</a>', '<a href="/admin/logout">Log out</a>']
    .map(link => link.replace('<a ', '<a style="color:#fff" ')).join('') +
  '</nav>'

/** Adds the panel bar to the dashboard's HTML page. */
export function withPanelBar (page: string): string {
  return page.includes('</body>') ? page.replace('</body>', `${PANEL_BAR}</body>`) : page
}

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
    queues: [
      new BullMQAdapter(fastify.uploadQueue.queue, adapterOptions),
      new BullMQAdapter(fastify.variantQueue.queue, {
        ...adapterOptions,
        displayName: 'Variants',
        description: 'One job per stored image: its display rendering and thumbnail, by the variant worker. A failed one (storage down through every attempt) can be retried here.'
      })
    ],
    serverAdapter,
    options: { uiConfig: boardUiConfig(fastify.config.admin.timeZone) }
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
  fastify.addHook('onSend', async (_request, reply, payload) => {
    const type = reply.getHeader('content-type')
    return typeof payload === 'string' && typeof type === 'string' && type.startsWith('text/html') ? withPanelBar(payload) : payload
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
