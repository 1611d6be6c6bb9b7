// What identity-headers.ts's buildUpstreamHeaders is given for one request, and how
// to read its output (a flat [name, value, name, value…] list), for the unit tests
// of identity headers.
import type { Identity } from '../../src/credentials/identity.js'
import type { ForwardContext } from '../../src/pipeline/identity-headers.js'

/** A direct (untrusted-peer) request from 203.0.113.9 by `identity`, holding its own permissions. */
export function forwardContext(identity: Identity, over: Partial<ForwardContext> = {}): ForwardContext {
  return {
    identity,
    permissions: identity.permissions,
    clientIp: '203.0.113.9',
    peerIp: '203.0.113.9',
    peerTrusted: false,
    proto: 'http',
    requestId: 'req-1',
    ...over,
  }
}

/** Every value sent under a name, compared case-insensitively. */
export function headerValues(out: readonly string[], name: string): string[] {
  const found: string[] = []
  for (let i = 0; i < out.length; i += 2) if ((out[i] as string).toLowerCase() === name.toLowerCase()) found.push(out[i + 1] as string)
  return found
}
