// The API-key endpoints of SPEC §6: create (the key shown once), list (own keys;
// every key for admins; never a secret or hash), patch, delete by ids.
import type { FastifyRequest } from 'fastify'
import { newKeyRecord } from '../keystore/key-record.js'
import type { ApiKeyPatch, ApiKeyRecord } from '../keystore/key-store.js'
import { parseCidrs } from '../net/ip-filter.js'
import { authenticateCaller, type Caller } from './caller.js'
import type { ServiceContext } from './context.js'
import { ServiceError } from './errors.js'
import { boundedExpiry, effective, grantFor, lifetime } from './grant.js'
import type { ApiKeyCreateRequest, ApiKeyPatchRequest } from './schemas.js'

const iso = (s: number | null) => (s === null ? null : new Date(s * 1000).toISOString())

export function viewOf(r: ApiKeyRecord) {
  return {
    id: r.id,
    user: r.user,
    ...(r.actor ? { actor: r.actor } : {}),
    description: r.description,
    permissions: r.permissions,
    ipFilter: [...r.ipFilter],
    expiresAt: iso(r.expiresAt),
    enabled: r.enabled,
    createdAt: iso(r.createdAt) as string,
    lastUsedAt: iso(r.lastUsedAt),
  }
}

function checkCidrs(list: readonly string[] | undefined): void {
  if (!list) return
  const r = parseCidrs(list)
  if (!r.ok) throw new ServiceError('invalid_body', `ipFilter[${r.problems[0]?.index}]: ${r.problems[0]?.message}`)
}

export async function createApiKey(req: FastifyRequest<{ Body: ApiKeyCreateRequest }>, ctx: ServiceContext) {
  const caller = await authenticateCaller(req, ctx, { apiKey: 'admin' })
  const body = req.body
  const subject = grantFor(caller, body.targetUser, body.permissions, ctx)
  checkCidrs(body.ipFilter)
  const now = Math.floor(ctx.now() / 1000)
  const ttl = lifetime(body.expires, null, null)
  const expiresAt = boundedExpiry(caller, ttl === null ? null : now + ttl)
  const { key, record } = newKeyRecord(
    {
      user: subject.user.name,
      permissions: effective(body.permissions),
      description: body.description ?? '',
      ipFilter: body.ipFilter ?? [],
      expiresAt,
      enabled: body.enabled ?? true,
      ...(subject.actor ? { actor: subject.actor } : {}),
    },
    now,
  )
  await ctx.store.create(record)
  ctx.logger.info({ event: 'apikey_created', keyId: record.id, user: record.user, actor: subject.actor }, 'API key created')
  return { key, ...viewOf(record) }
}

function mayManage(caller: Caller, r: ApiKeyRecord): boolean {
  return caller.user.admin || r.user === caller.user.name
}

export async function listApiKeys(req: FastifyRequest, ctx: ServiceContext) {
  const caller = await authenticateCaller(req, ctx, { apiKey: 'never' })
  const records = caller.user.admin ? await ctx.store.list() : await ctx.store.list({ user: caller.user.name })
  return { keys: records.map(viewOf) }
}

export async function patchApiKey(req: FastifyRequest<{ Params: { id: string }; Body: ApiKeyPatchRequest }>, ctx: ServiceContext) {
  const caller = await authenticateCaller(req, ctx, { apiKey: 'never' })
  const existing = await ctx.store.get(req.params.id)
  // Another user's key answers exactly like a missing one: no oracle for ids.
  if (!existing || !mayManage(caller, existing)) throw new ServiceError('not_found', 'no such API key')
  const body = req.body
  checkCidrs(body.ipFilter)
  const patch: { -readonly [K in keyof ApiKeyPatch]: ApiKeyPatch[K] } = {}
  if (body.description !== undefined) patch.description = body.description
  if (body.enabled !== undefined) patch.enabled = body.enabled
  if (body.ipFilter !== undefined) patch.ipFilter = body.ipFilter
  if (body.expires !== undefined) {
    const ttl = body.expires === null ? null : lifetime(body.expires, null, null)
    patch.expiresAt = ttl === null ? null : Math.floor(ctx.now() / 1000) + ttl
  }
  const updated = await ctx.store.update(existing.id, patch)
  if (!updated) throw new ServiceError('not_found', 'no such API key')
  ctx.logger.info({ event: 'apikey_changed', keyId: updated.id, by: caller.user.name, fields: Object.keys(patch) }, 'API key changed')
  return viewOf(updated)
}

export async function deleteApiKeys(req: FastifyRequest<{ Body: string[] }>, ctx: ServiceContext) {
  const caller = await authenticateCaller(req, ctx, { apiKey: 'never' })
  const mine: string[] = []
  const notFound: string[] = []
  for (const id of req.body) {
    const r = await ctx.store.get(id)
    if (r && mayManage(caller, r)) mine.push(id)
    else notFound.push(id)
  }
  const revoked = mine.length > 0 ? await ctx.store.revoke(mine) : []
  for (const id of mine) if (!revoked.includes(id)) notFound.push(id)
  ctx.logger.info({ event: 'apikeys_revoked', keyIds: revoked, by: caller.user.name }, 'API keys revoked')
  return { revoked, notFound }
}
