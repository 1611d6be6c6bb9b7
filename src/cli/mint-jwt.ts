// `gatehouse mint-jwt`: a signed JWT for tests and first steps, so nobody writes
// their own minting script. It signs with a private key file (RSA -> RS256, EC P-256
// -> ES256, P-384 -> ES384, Ed25519 -> EdDSA) read the way issuer.signingKeyFile is;
// give Gatehouse the public half as a jwt.issuers[].publicKeyFile.
import { randomUUID } from 'node:crypto'
import { parseArgs } from 'node:util'
import { SignJWT } from 'jose'
import { parseDuration } from '../config/duration.js'
import { loadSigningKeys } from '../credentials/signing-key.js'
import { parsePermissionList, type Permissions } from '../credentials/permissions.js'

export const MINT_JWT_USAGE =
  'gatehouse mint-jwt --key PRIVATE_KEY_FILE --iss ISSUER --sub USER [--aud AUDIENCE]… [--permissions api:rw,api2:r] [--scope "a b"] [--ttl PT5M]\n'

interface Streams {
  readonly stdout: NodeJS.WritableStream
  readonly stderr: NodeJS.WritableStream
}

export async function mintJwtCommand(args: string[], io: Streams, now: () => number = Date.now): Promise<number> {
  let values
  try {
    ;({ values } = parseArgs({
      args,
      strict: true,
      allowPositionals: false,
      options: {
        key: { type: 'string' },
        iss: { type: 'string' },
        sub: { type: 'string' },
        aud: { type: 'string', multiple: true },
        permissions: { type: 'string' },
        scope: { type: 'string' },
        ttl: { type: 'string', default: 'PT5M' },
        help: { type: 'boolean', short: 'h' },
      },
    }))
  } catch (err) {
    return fail(io, (err as Error).message)
  }
  if (values.help) {
    io.stdout.write(`usage: ${MINT_JWT_USAGE}`)
    return 0
  }
  const missing = (['key', 'iss', 'sub'] as const).filter((k) => !values[k])
  if (missing.length > 0) return fail(io, `mint-jwt needs ${missing.map((k) => `--${k}`).join(', ')}`)
  const ttl = parseDuration(values.ttl)
  if (!ttl.ok) return fail(io, `--ttl: ${ttl.message} (e.g. PT5M, PT1H)`)
  let permissions: Permissions | undefined
  if (values.permissions !== undefined) {
    const p = parsePermissionList(values.permissions)
    if (!p.ok) return fail(io, `--permissions: ${p.message}`)
    permissions = p.value
  }

  const keys = await loadSigningKeys({ signingKeyFile: values.key, dataDir: '' })
  if (!keys.ok) return fail(io, `--key: ${keys.problems.map((p) => p.message).join('; ').replaceAll('issuer.signingKeyFile', '--key')}`)
  const { alg, kid, privateKey } = keys.value.current
  const iat = Math.floor(now() / 1000)
  const jwt = new SignJWT({ ...(permissions ? { permissions } : {}), ...(values.scope ? { scope: values.scope } : {}) })
    .setProtectedHeader({ alg, kid, typ: 'JWT' })
    .setIssuer(values.iss as string)
    .setSubject(values.sub as string)
    .setIssuedAt(iat)
    .setExpirationTime(iat + ttl.seconds)
    .setJti(randomUUID())
  const aud = values.aud ?? []
  if (aud.length > 0) jwt.setAudience(aud.length === 1 ? (aud[0] as string) : aud)
  io.stdout.write(`${await jwt.sign(privateKey)}\n`)
  return 0
}

function fail(io: Streams, message: string): number {
  io.stderr.write(`gatehouse: ${message}\nusage: ${MINT_JWT_USAGE}`)
  return 1
}
