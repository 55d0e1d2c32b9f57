// `npm run worker`: one upload worker process. Scale by running more of them (all share the
// staging directory, Redis and MongoDB). The worker itself lives in src/worker/.
import { runWorkerProcess } from '../src/runtime/worker-process.ts'
import { startUploadWorker, WORKER_CLOSE_DEADLINE_MS } from '../src/worker/start-worker.ts'

runWorkerProcess({ role: 'worker', start: startUploadWorker, closeDeadlineMs: WORKER_CLOSE_DEADLINE_MS })
