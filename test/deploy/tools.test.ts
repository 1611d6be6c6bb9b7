// test/support/tools.ts: a missing tool skips its test with a reason on a
// developer machine, and fails it when CI=true, so CI never passes by skipping.
import assert from 'node:assert/strict'
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterEach, test } from 'node:test'
import { findCapability, findTool } from '../support/tools.js'

const savedCi = process.env.CI
afterEach(() => {
  if (savedCi === undefined) delete process.env.CI
  else process.env.CI = savedCi
  delete process.env.GATEHOUSE_TEST_TOOL
})

test('outside CI a missing tool skips with a message that says how to get it', () => {
  delete process.env.CI
  const t = findTool('gatehouse-no-such-tool', 'GATEHOUSE_TEST_TOOL', 'install it with apt-get')
  assert.equal(t.path, null)
  assert.match(String(t.skip), /gatehouse-no-such-tool unavailable: .*not on PATH.*GATEHOUSE_TEST_TOOL.*install it with apt-get.*skipped outside CI/)
  assert.throws(() => t.require(), /gatehouse-no-such-tool unavailable/)
})

test('with CI=true a missing tool is not skipped: the test runs and fails', () => {
  process.env.CI = 'true'
  const t = findTool('gatehouse-no-such-tool', 'GATEHOUSE_TEST_TOOL', 'hint')
  assert.equal(t.skip, false)
  assert.throws(() => t.require(), /CI=true: a missing tool fails the check/)
  const cap = findCapability('a capability', () => 'not permitted', 'hint')
  assert.equal(cap.skip, false)
  assert.throws(() => cap.require(), /a capability unavailable: not permitted/)
})

test('any truthy CI counts as CI (true, 1, yes); unset, empty, false, 0 and no do not', () => {
  for (const v of ['true', 'TRUE', '1', 'yes']) {
    process.env.CI = v
    assert.equal(findTool('gatehouse-no-such-tool', 'GATEHOUSE_TEST_TOOL', 'hint').skip, false, `CI=${v}`)
  }
  for (const v of [undefined, '', 'false', '0', 'no']) {
    if (v === undefined) delete process.env.CI
    else process.env.CI = v
    assert.match(String(findTool('gatehouse-no-such-tool', 'GATEHOUSE_TEST_TOOL', 'hint').skip), /skipped outside CI/, `CI=${v}`)
  }
})

test('the env var names the tool, and must point at an executable', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'gatehouse-tools-'))
  try {
    const exe = path.join(dir, 'fake-tool')
    writeFileSync(exe, '#!/bin/sh\n')
    chmodSync(exe, 0o755)
    process.env.GATEHOUSE_TEST_TOOL = exe
    assert.equal(findTool('fake-tool', 'GATEHOUSE_TEST_TOOL', 'hint').require(), exe)
    chmodSync(exe, 0o644)
    delete process.env.CI
    assert.match(String(findTool('fake-tool', 'GATEHOUSE_TEST_TOOL', 'hint').skip), /GATEHOUSE_TEST_TOOL=.* is not an executable file/)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test('a tool on PATH is found without the env var', () => {
  assert.equal(findTool('node', 'GATEHOUSE_TEST_TOOL', 'hint').skip, false)
})
