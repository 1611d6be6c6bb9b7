// src/pipeline/trace-context.ts against the W3C Trace Context examples (§3.2, and
// the test suite's future-version case) and README "Operations" for request ids.
import { strict as assert } from 'node:assert'
import { describe, it } from 'node:test'
import { isRequestId, isTraceparent, requestIdIn } from '../../../src/pipeline/trace-context.js'

describe('isTraceparent (W3C Trace Context §3.2)', () => {
  it('takes the specification\'s example and a later version with more fields', () => {
    assert.equal(isTraceparent('00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'), true)
    assert.equal(isTraceparent('00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00'), true)
    assert.equal(isTraceparent('cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-what-the-future-will-be-like'), true)
  })
  it('refuses every malformed shape', () => {
    for (const bad of [
      '',
      '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7',
      '00-4BF92F3577B34DA6A3CE929D0E0E4736-00F067AA0BA902B7-01',
      '00-00000000000000000000000000000000-00f067aa0ba902b7-01',
      '00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01',
      'ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
      '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-',
      'cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01x',
      '00_4bf92f3577b34da6a3ce929d0e0e4736_00f067aa0ba902b7_01',
      '0g-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
      '00-4bf92f3577b34da6a3ce929d0e0e473g-00f067aa0ba902b7-01',
      `cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-${'x'.repeat(300)}`,
    ]) {
      assert.equal(isTraceparent(bad), false, bad)
    }
  })
})

describe('isTraceparent field by field (issue 19, mutation testing)', () => {
  const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736'
  const PARENT = '00f067aa0ba902b7'
  it('each separator and each field is checked on its own', () => {
    for (const bad of [
      `00-${TRACE}_${PARENT}-01`,
      `00-${TRACE}-${PARENT}_01`,
      `00-${TRACE}-00f067aa0ba902bg-01`,
      `00-${TRACE}-00F067AA0BA902B7-01`,
      `00-${TRACE}-${PARENT}-0g`,
      `00-${TRACE}-${PARENT}-0A`,
      `0A-${TRACE}-${PARENT}-01`,
      `00_${TRACE}-${PARENT}-01`,
      `00-4bf92f3577b34da6a3ce929d0e0e473.-${PARENT}-01`,
    ]) {
      assert.equal(isTraceparent(bad), false, bad)
    }
  })
  it('ids that start or end with zeros are not all zeros (the W3C example trace id starts with 0)', () => {
    assert.equal(isTraceparent('00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01'), true)
    assert.equal(isTraceparent('00-4bf92f3577b34da6a3ce929d0e0e4730-00f067aa0ba90200-01'), true)
  })
  it('a later version may be exactly 55 characters, or go on after a - up to 256 in all', () => {
    assert.equal(isTraceparent(`cc-${TRACE}-${PARENT}-01`), true)
    const at = (n: number) => `cc-${TRACE}-${PARENT}-01-${'x'.repeat(n - 56)}`
    assert.equal(at(256).length, 256)
    assert.equal(isTraceparent(at(256)), true)
    assert.equal(isTraceparent(at(257)), false)
    assert.equal(isTraceparent(`00-${TRACE}-${PARENT}-01`.slice(0, 54)), false)
  })
})

describe('request ids', () => {
  it('takes UUIDs, hex, base64 and up to 128 characters', () => {
    for (const ok of ['f81d4fae-7dec-11d0-a765-00a0c91e6bf6', '9f1c3e5a7b2d4f6081a3c5e7092b4d6f', 'YWJj+/de==', 'Root=1-67891233-abcdef012345678912345678', 'a'.repeat(128)]) {
      assert.equal(isRequestId(ok), true, ok)
    }
  })
  it('refuses empty, too long, and anything that could end a header, a JSON string or a URN', () => {
    for (const bad of ['', 'a'.repeat(129), 'a b', 'a"b', 'a\\b', 'a\r\nb', 'a,b', 'a;b', 'é', 'a<b>', 'a{b}']) {
      assert.equal(isRequestId(bad), false, JSON.stringify(bad))
    }
  })
  it('reads exactly one X-Request-Id line, in any case; two lines are none', () => {
    assert.equal(requestIdIn(['Accept', '*/*', 'X-REQUEST-ID', 'abc-1']), 'abc-1')
    assert.equal(requestIdIn(['x-request-id', 'abc-1', 'X-Request-Id', 'abc-2']), null)
    assert.equal(requestIdIn(['x-request-id', 'bad id']), null)
    assert.equal(requestIdIn(['x-request-ids', 'abc-1']), null)
    assert.equal(requestIdIn(['Content-Type', 'abc-1']), null)
  })
})
