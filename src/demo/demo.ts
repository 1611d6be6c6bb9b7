// `npm start`: Gatehouse with the bundled example config in front of the bundled
// legacy API, a demo IdP key, and two API keys kept in ./data/demo, then prints
// curl commands a newcomer can paste (SPEC §1). Ports: GATEHOUSE_DEMO_PORT (8080),
// GATEHOUSE_DEMO_ADMIN_PORT (9464); 0 picks free ones.
import { createPrivateKey, createPublicKey, generateKeyPairSync } from 'node:crypto'
import { createWriteStream, existsSync } from 'node:fs'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { SignJWT } from 'jose'
import { stringify } from 'yaml'
import { startGatehouse, StartError, type Gatehouse } from '../cli/serve.js'
import type { Permissions } from '../credentials/permissions.js'
import { newKeyRecord } from '../keystore/new-key-record.js'
import { hashPassword } from '../accounts/password-hash.js'
import { startLegacyApi } from './legacy-api.js'

const dir = path.resolve(process.env.GATEHOUSE_DEMO_DIR ?? 'data/demo')
const port = Number(process.env.GATEHOUSE_DEMO_PORT ?? 8080)
// Demo only: known passwords so the printed commands work as they are.
const DEMO_PASSWORDS = { alice: 'alice-demo-password', bob: 'bob-demo-password' }
const DEMO_CLIENT_SECRET = 'demo-client-secret'
const adminPort = Number(process.env.GATEHOUSE_DEMO_ADMIN_PORT ?? 9464)

interface DemoKey {
  readonly user: string
  readonly key: string
  readonly id: string
  readonly permissions: Permissions
}

async function main(): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 })
  const legacy = await startLegacyApi(0)
  const privatePem = await demoIdpKey()
  await writeDemoAccounts()
  const configFile = await writeDemoConfig(legacy.url)
  const log = createWriteStream(path.join(dir, 'access.log'), { flags: 'a' })
  let gh: Gatehouse
  try {
    gh = await startGatehouse({ configFile, logDestination: log })
  } catch (err) {
    await legacy.close()
    throw err
  }
  const keys = (await demoKeys(gh.store)) as [DemoKey, DemoKey]
  process.stdout.write(banner({ proxy: gh.proxyUrl, admin: gh.adminUrl, legacy: legacy.url, configFile, keys, token: await demoToken(privatePem) }))
  stopOnSignal(async () => {
    await gh.shutdown(2000)
    await legacy.close()
    log.end()
  })
}

/** The demo IdP's private key, made once; its public half is written beside it for the config. */
async function demoIdpKey(): Promise<string> {
  const idpKeyFile = path.join(dir, 'demo-idp.key')
  if (!existsSync(idpKeyFile)) {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 })
    await writeFile(idpKeyFile, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 })
  }
  const privatePem = await readFile(idpKeyFile, 'utf8')
  await writeFile(path.join(dir, 'demo-idp.pub'), createPublicKey(privatePem).export({ type: 'spki', format: 'pem' }))
  return privatePem
}

/** The token service's accounts: demo users with fixed passwords, and one OAuth2 client. */
async function writeDemoAccounts(): Promise<void> {
  const usersFile = path.join(dir, 'users.yaml')
  const clientsFile = path.join(dir, 'clients.yaml')
  if (existsSync(usersFile) && existsSync(clientsFile)) return
  await writeFile(
    usersFile,
    stringify({
      users: [
        { name: 'alice', passwordHash: await hashPassword(DEMO_PASSWORDS.alice), permissions: { users: 'rw', sessions: 'r' }, admin: true, canImpersonate: true },
        { name: 'bob', passwordHash: await hashPassword(DEMO_PASSWORDS.bob), permissions: { users: 'r' } },
      ],
    }),
    { mode: 0o600 },
  )
  await writeFile(
    clientsFile,
    stringify({ clients: [{ clientId: 'demo-client', secretHash: await hashPassword(DEMO_CLIENT_SECRET), permissions: { users: 'r' } }] }),
    { mode: 0o600 },
  )
}

async function writeDemoConfig(legacyUrl: string): Promise<string> {
  const configFile = path.join(dir, 'gatehouse.yaml')
  await writeFile(
    configFile,
    `# Written by the demo (npm start); see deploy/examples/gatehouse.yaml for every option.\n` +
      stringify({
        listen: `127.0.0.1:${port}`,
        admin: { listen: `127.0.0.1:${adminPort}` },
        upstream: { url: legacyUrl },
        apis: [
          { name: 'users', prefixes: ['/api/v1/users', '/api/v1/roles'] },
          { name: 'sessions', prefixes: ['/api/v1/sessions'] },
          { name: 'version', prefixes: ['/api/v1/version'], public: true },
        ],
        unmatched: 'deny',
        jwt: { issuers: [{ issuer: 'demo-idp', audience: 'legacy-api', publicKeyFile: './demo-idp.pub', algorithms: ['RS256'] }] },
        store: { type: 'file', path: './apikeys.json' },
        issuer: { prefix: '/_gatehouse', usersFile: './users.yaml', clientsFile: './clients.yaml', jwtMaxTtl: 'P1D', jwtDefaultTtl: 'PT1H' },
      }),
  )
  return configFile
}

/** A JWT from the demo IdP for alice, valid 24 hours. */
function demoToken(privatePem: string): Promise<string> {
  return new SignJWT({ permissions: { users: 'rw', sessions: 'r' } })
    .setProtectedHeader({ alg: 'RS256', typ: 'JWT' })
    .setIssuer('demo-idp')
    .setAudience('legacy-api')
    .setSubject('alice')
    .setJti(`demo-${Date.now().toString(36)}`)
    .setIssuedAt()
    .setExpirationTime('24h')
    .sign(createPrivateKey(privatePem))
}

interface BannerFacts {
  readonly proxy: string
  readonly admin: string
  readonly legacy: string
  readonly configFile: string
  readonly keys: readonly [DemoKey, DemoKey]
  readonly token: string
}

/** The commands a newcomer pastes, each labelled with the answer it gets (test/e2e/demo.test.ts runs them all). */
function banner({ proxy: u, admin, legacy, configFile, keys: [alice, bob], token }: BannerFacts): string {
  const rel = path.relative(process.cwd(), configFile) || configFile
  return `
Gatehouse demo is running.
  proxy   ${u}  ->  legacy API ${legacy}
  admin   ${admin}/metrics   ${admin}/readyz
  data    ${path.relative(process.cwd(), dir) || dir}/ (config, API keys, demo IdP key, access.log)

Paste these into another terminal:

  # 200 - a public API needs no credential
  curl -i ${u}/api/v1/version

  # 401 - a protected API without a credential
  curl -i ${u}/api/v1/users

  # 200 - alice's API key (users:rw sessions:r); the legacy API echoes the identity headers it got
  curl -i -H 'X-API-Key: ${alice.key}' ${u}/api/v1/users

  # 403 - bob's key is read-only (users:r): no POST
  curl -i -X POST -H 'X-API-Key: ${bob.key}' ${u}/api/v1/users

  # 403 - bob has no permission on the sessions API at all
  curl -i -H 'X-API-Key: ${bob.key}' ${u}/api/v1/sessions

  # 200 - a JWT from the demo IdP (RS256, valid 24 h)
  curl -i -H 'Authorization: Bearer ${token}' ${u}/api/v1/users/7

The token service (users alice / ${DEMO_PASSWORDS.alice} and bob / ${DEMO_PASSWORDS.bob}):

  # 200 - log in as bob and get a JWT for users:r, valid 15 minutes
  curl -i -u bob:${DEMO_PASSWORDS.bob} -H 'Content-Type: application/json' -d '{"permissions":{"users":"r"},"expires":"PT15M"}' ${u}/_gatehouse/v1/auth/jwt

  # 403 - bob may not ask for more than he holds
  curl -i -u bob:${DEMO_PASSWORDS.bob} -H 'Content-Type: application/json' -d '{"permissions":{"users":"rw"}}' ${u}/_gatehouse/v1/auth/jwt

  # 200 - an OAuth2 client-credentials token
  curl -i -u demo-client:${DEMO_CLIENT_SECRET} -d 'grant_type=client_credentials&scope=users:r' ${u}/_gatehouse/oauth/token

  # 200 - the public keys of issued tokens
  curl -i ${u}/_gatehouse/.well-known/jwks.json

  Swagger UI: ${u}/_gatehouse/docs   (README: "The life of a credential" walks through all of it)

More:
  node dist/main.js keys list --config ${rel}
  node dist/main.js keys create --config ${rel} --user bob --permissions users:r --expires PT1H
  node dist/main.js keys revoke --config ${rel} ${bob.id}     (the next request with bob's key is 401)

Stop with Ctrl-C.
`
}

/** Ctrl-C or SIGTERM: stop once, then exit 0. */
function stopOnSignal(stop: () => Promise<void>): void {
  let stopping = false
  const onSignal = () => {
    if (stopping) return
    stopping = true
    void stop().then(() => process.exit(0))
  }
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
}

/** The demo's two keys, made once and kept (with their secrets, demo only) in the data folder. */
async function demoKeys(store: import('../keystore/key-store.js').KeyStore): Promise<DemoKey[]> {
  const file = path.join(dir, 'demo-keys.json')
  try {
    const saved = JSON.parse(await readFile(file, 'utf8')) as DemoKey[]
    const present = await Promise.all(saved.map((k) => store.get(k.id)))
    if (saved.length === 2 && present.every((r) => r && r.enabled)) return saved
  } catch {
    // none yet, or unreadable: make new ones
  }
  const wanted: [string, Permissions, string][] = [
    ['alice', { users: 'rw', sessions: 'r' }, 'demo key: read and write users'],
    ['bob', { users: 'r' }, 'demo key: read-only'],
  ]
  const out: DemoKey[] = []
  for (const [user, permissions, description] of wanted) {
    const { key, record } = newKeyRecord({ user, permissions, description }, Math.floor(Date.now() / 1000))
    await store.create(record)
    out.push({ user, key, id: record.id, permissions })
  }
  await writeFile(file, JSON.stringify(out, null, 2), { mode: 0o600 })
  return out
}

main().catch((err: unknown) => {
  process.stderr.write(`gatehouse demo: ${(err as Error).message}\n`)
  process.exit(err instanceof StartError ? err.exitCode : 2)
})
