// Child process for test/unit/telemetry/logger.test.ts: an info line and a warning,
// then its event loop blocked (no timer, so no periodic flush, can run): 2 s, a
// marker on stderr, 1 s more. Whatever reached stdout before the marker was written
// by the log calls themselves.
import { writeSync } from 'node:fs'
import { createLogger } from '../../src/telemetry/logger.js'

const block = (ms: number) => {
  const until = Date.now() + ms
  while (Date.now() < until) {
    // blocked on purpose
  }
}
const logger = createLogger({ level: 'info', levelFormat: process.env.LEVEL_FORMAT === 'number' ? 'number' : 'name' })
logger.info('before')
logger.warn('careful')
block(2000)
writeSync(2, 'marker\n')
block(1000)
