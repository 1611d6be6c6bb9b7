// Child process for the crash-mid-write test (test/keystore/file-key-store.test.ts):
// creates keys in the file store given as argv[2], a few at a time, and prints
// `created <id>` only after create() has resolved, i.e. once the key is durable.
// The parent SIGKILLs it at a random moment.
import { newKeyRecord } from '../../src/keystore/new-key-record.js'
import { openFileKeyStore } from '../../src/keystore/file-key-store.js'

const path = process.argv[2]
if (!path) throw new Error('usage: key-writer-child.ts <key file>')
const store = await openFileKeyStore(path, { watch: false })

async function createOne(n: number): Promise<void> {
  const { record } = newKeyRecord(
    { user: `writer-${process.pid}`, description: `key ${n} of a writer that will be killed`, permissions: { users: 'rw' } },
    Math.floor(Date.now() / 1000),
  )
  await store.create(record)
  process.stdout.write(`created ${record.id}\n`)
}

for (let n = 0; ; n += 4) {
  await Promise.all([createOne(n), createOne(n + 1), createOne(n + 2), createOne(n + 3)])
}
