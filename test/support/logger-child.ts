// Child process for test/unit/telemetry/logger.test.ts: Gatehouse's logger on its
// standard output. argv[2] = number of lines to log; then, after argv[3] ms, it
// exits through process.exit() with whatever is still buffered.
import { createLogger } from '../../src/telemetry/logger.js'

const logger = createLogger({ level: 'info', levelFormat: process.env.LEVEL_FORMAT === 'number' ? 'number' : 'name' })
const lines = Number(process.argv[2] ?? 1)
const waitMs = Number(process.argv[3] ?? 0)
setTimeout(() => {
  for (let i = 0; i < lines; i++) logger.info({ i }, 'line')
  process.exit(0)
}, waitMs)
