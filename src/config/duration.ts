// ISO 8601 durations in the one form SPEC §2 and §6 allow: PnDTnHnMnS, whole
// numbers only. Years, months and weeks are refused (their length in seconds is
// not fixed or is easily misread), as are fractions, signs, zero and lowercase.

export type DurationResult = { ok: true; seconds: number } | { ok: false; message: string }

const ALLOWED = 'an ISO 8601 duration PnDTnHnMnS with whole numbers (days, hours, minutes, seconds), e.g. PT1H, P1D or P1DT12H'
// Each number is at most 9 digits: enough for any sane lifetime, never beyond 2^53.
const FORM = /^P(?:(\d{1,9})D)?(?:T(?:(\d{1,9})H)?(?:(\d{1,9})M)?(?:(\d{1,9})S)?)?$/
// The longest duration formatDuration writes in that form (days ≤ 9 digits): anything
// longer (PT999999999H is 41 666 666 days) would not round-trip, so it is refused.
export const MAX_DURATION_SECONDS = 999_999_999 * 86_400 + 86_399

export function parseDuration(text: string): DurationResult {
  if (typeof text !== 'string' || text.length === 0) return fail('is empty')
  if (text.length > 64) return fail('is too long')
  const m = FORM.exec(text)
  if (!m || text.endsWith('T') || text === 'P') return fail(explain(text))
  const [days, hours, minutes, secs] = m.slice(1).map((v) => (v === undefined ? 0 : Number(v))) as [
    number,
    number,
    number,
    number,
  ]
  const seconds = ((days * 24 + hours) * 60 + minutes) * 60 + secs
  if (seconds <= 0) return { ok: false, message: `"${text}" is zero; a duration must be positive (${ALLOWED})` }
  if (seconds > MAX_DURATION_SECONDS) return fail('is too long')
  return { ok: true, seconds }
}

/** The canonical PnDTnHnMnS form; parseDuration(formatDuration(s)) gives s back for any s > 0. */
export function formatDuration(seconds: number): string {
  if (!Number.isSafeInteger(seconds) || seconds < 0) throw new RangeError('seconds must be a non-negative integer')
  if (seconds === 0) return 'PT0S'
  const d = Math.floor(seconds / 86400)
  const h = Math.floor((seconds % 86400) / 3600)
  const m = Math.floor((seconds % 3600) / 60)
  const s = seconds % 60
  const time = (h ? `${h}H` : '') + (m ? `${m}M` : '') + (s ? `${s}S` : '')
  return `P${d ? `${d}D` : ''}${time ? `T${time}` : ''}`
}

function fail(why: string): DurationResult {
  return { ok: false, message: `duration ${why}: expected ${ALLOWED}` }
}

/** A more precise reason for the mistakes people actually make. */
function explain(text: string): string {
  const shown = JSON.stringify(text.length > 32 ? `${text.slice(0, 32)}…` : text)
  const datePart = text.split('T')[0] ?? ''
  if (/^[-+]/.test(text)) return `${shown} has a sign; only positive durations are allowed`
  if (/^P/.test(text) && /[YW]|^P[^T]*M/.test(datePart)) {
    return `${shown} uses years, months or weeks, which are not allowed; use days`
  }
  if (/[.,]/.test(text)) return `${shown} has a fraction; only whole numbers are allowed`
  return `${shown} is not allowed`
}
