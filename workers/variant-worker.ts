// `npm run variant-worker`: one variant worker process, which makes the display rendering and
// the thumbnail of every stored image (src/worker/variants/). CPU-bound: run one per machine with
// VARIANT_CONCURRENCY about its cores, beside any number of upload workers. scripts/run.sh starts
// it with jemalloc when the machine has it (README, "Variants"): glibc's allocator lets a
// long-running sharp process grow.
import { runWorkerProcess } from '../src/runtime/worker-process.ts'
import { startVariantWorker, VARIANT_WORKER_CLOSE_DEADLINE_MS } from '../src/worker/variants/start-variant-worker.ts'

runWorkerProcess({ role: 'variant-worker', start: startVariantWorker, closeDeadlineMs: VARIANT_WORKER_CLOSE_DEADLINE_MS })
