// Headless Chromium for the browser tests (issuer-docs, cors): Debian's `chromium`
// (.ci/run installs it), or GATEHOUSE_CHROMIUM. Missing on a developer machine the
// browser tests skip; with CI=true they fail.
import { findTool } from './tools.js'

export const chromiumTool = findTool(
  'chromium',
  'GATEHOUSE_CHROMIUM',
  "install Debian's chromium (`apt-get install chromium`; .ci/run does) or point GATEHOUSE_CHROMIUM at a Chromium binary",
)

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
]
