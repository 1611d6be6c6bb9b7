// The value shapes the config schema's sections share (src/config/schema.ts).
import { Type } from '@sinclair/typebox'

export const Strict = { additionalProperties: false } as const

export const LevelSchema = Type.Union([Type.Literal('none'), Type.Literal('r'), Type.Literal('rw')])
export const PermissionsSchema = Type.Record(Type.String({ minLength: 1 }), LevelSchema, {
  description: 'API name -> none | r | rw',
})
export const Cidr = Type.String({ minLength: 1, description: 'an IPv4 or IPv6 address or CIDR range' })
export const HostPort = Type.String({
  minLength: 1,
  description: 'host:port (IPv6 hosts in brackets: [::1]:8080)',
})
export const Duration = Type.String({ minLength: 1, description: 'ISO 8601 duration PnDTnHnMnS' })
export const FilePath = Type.String({ minLength: 1, description: 'a file path, relative to the config file' })
/** RFC 9110 §5.6.2 token: a header field name. */
export const HEADER_NAME_PATTERN = "^[!#$%&'*+.^_`|~0-9A-Za-z-]+$"
