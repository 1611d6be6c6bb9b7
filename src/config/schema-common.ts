// The value shapes the config schema's sections share (src/config/schema.ts).
import { Type } from '@sinclair/typebox'
import { CIDR_PATTERN, DURATION_PATTERN, HOST_PORT_PATTERN, ZERO_DURATION_PATTERN } from './text-forms.js'

export const Strict = { additionalProperties: false } as const

export const LevelSchema = Type.Union([Type.Literal('none'), Type.Literal('r'), Type.Literal('rw')])
export const PermissionsSchema = Type.Record(Type.String({ minLength: 1 }), LevelSchema, {
  description: 'API name -> none | r | rw',
})
// The patterns are for schema readers without the parsers (the Helm chart); load.ts
// checks these values with the parsers, whose messages say what is wrong.
export const Cidr = Type.String({ minLength: 1, pattern: CIDR_PATTERN, description: 'an IPv4 or IPv6 address or CIDR range' })
export const HostPort = Type.String({
  minLength: 1,
  pattern: HOST_PORT_PATTERN,
  description: 'host:port (IPv6 hosts in brackets: [::1]:8080)',
})
export const Duration = Type.String({
  minLength: 1,
  pattern: DURATION_PATTERN,
  not: { type: 'string', pattern: ZERO_DURATION_PATTERN },
  description: 'ISO 8601 duration PnDTnHnMnS',
})
export const FilePath = Type.String({ minLength: 1, description: 'a file path, relative to the config file' })
/** RFC 9110 §5.6.2 token: a header field name. */
export const HEADER_NAME_PATTERN = "^[!#$%&'*+.^_`|~0-9A-Za-z-]+$"
