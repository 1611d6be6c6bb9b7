// The API-key endpoints of SPEC §6: create (the key shown once), list (own keys;
// every key for admins; never a secret or hash), patch, delete by ids.
import type { FastifyRequest } from 'fastify'
import { unreadableField } from '../keystore/key-record.js'
import { newKeyRecord } from '../keystore/new-key-record.js'
import type { ApiKeyPatch, ApiKeyRecord } from '../keystore/key-store.js'
import { parseCidrs } from '../net/ip-filter.js'
import { authenticateCaller, type Caller } from './caller.js'
import { serviceOf, type ServiceContext } from './context.js'
import { ServiceError } from './errors.js'
import { boundedExpiry, effective, grantFor, lifetime, limitFor } from './grant.js'
import type { ApiKeyCreateRequest, ApiKeyPatchRequest } from './schemas.js'

const iso = (s: number | null) => (s === null ? null : new Date(s * 1000).toISOString())

export function viewOf(r: ApiKeyRecord) {
  return {
    id: r.id,
    user: r.user,
    ...(r.actor ? { actor: r.actor } : {}),
    ...(r.parentKeyId ? { parentKeyId: r.parentKeyId } : {}),
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
  const svc = serviceOf(ctx)
  const now = Math.floor(ctx.now() / 1000)
  const max = limitFor(subject, { seconds: svc.apiKeyMaxTtlSeconds, key: 'issuer.apiKeyMaxTtl' }, ctx)
  // A key acting for someone else always ends; other keys may live without an expiry.
  const ttl = lifetime(body.expires, subject.actor !== undefined ? max.seconds : null, max)
  const expiresAt = boundedExpiry(caller, ttl === null ? null : now + ttl)
  const held = await ctx.store.list({ user: subject.user.name })
  if (held.length >= svc.maxKeysPerUser) {
    throw new ServiceError('too_many_keys', `user "${subject.user.name}" already holds ${held.length} API keys, the most allowed (issuer.maxKeysPerUser); revoke some first`)
  }
  const parentKeyId = caller.via === 'apikey' ? caller.record.id : undefined
  const { key, record } = newKeyRecord(
    {
      user: subject.user.name,
      permissions: effective(body.permissions),
      description: body.description ?? '',
      ipFilter: body.ipFilter ?? [],
      expiresAt,
      enabled: body.enabled ?? true,
      ...(subject.actor ? { actor: subject.actor } : {}),
      ...(parentKeyId ? { parentKeyId } : {}),
    },
    now,
  )
  await ctx.store.create(record)
  ctx.metrics.credentialIssued('api_key')
  ctx.logger.info({ event: 'apikey_created', keyId: record.id, user: record.user, actor: subject.actor, parentKeyId }, 'API key created')
  return { key, ...viewOf(record) }
}

/** Admins manage every key; others their own and the keys they minted for someone else (issue 12). */
function mayManage(caller: Caller, r: ApiKeyRecord): boolean {
  return caller.user.admin || r.user === caller.user.name || r.actor === caller.user.name
}

export async function listApiKeys(req: FastifyRequest, ctx: ServiceContext) {
  const caller = await authenticateCaller(req, ctx, { apiKey: 'never' })
  const records = caller.user.admin || caller.user.canImpersonate ? await ctx.store.list() : await ctx.store.list({ user: caller.user.name })
  const keys: ReturnType<typeof viewOf>[] = []
  const unreadable: { id: string; problem: string }[] = []
  for (const r of records) {
    if (!mayManage(caller, r)) continue
    // One record a store should never have held (a time no date can show) is reported, never a 500.
    const problem = unreadableField(r)
    if (problem) unreadable.push({ id: r.id, problem })
    else keys.push(viewOf(r))
  }
  if (unreadable.length > 0) ctx.logger.warn({ event: 'apikeys_unreadable', keyIds: unreadable.map((u) => u.id) }, 'API key records cannot be shown')
  return unreadable.length > 0 ? { keys, unreadable } : { keys }
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
    const svc = serviceOf(ctx)
    const max =
      existing.actor !== undefined && svc.impersonationMaxTtlSeconds < svc.apiKeyMaxTtlSeconds
        ? { seconds: svc.impersonationMaxTtlSeconds, key: 'issuer.impersonationMaxTtl' }
        : { seconds: svc.apiKeyMaxTtlSeconds, key: 'issuer.apiKeyMaxTtl' }
    if (body.expires === null && existing.actor !== undefined) throw new ServiceError('invalid_body', 'expires: a key acting for someone else must expire')
    const ttl = body.expires === null ? null : lifetime(body.expires, null, max)
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
