// A throwaway certificate authority and one server certificate it signed, for
// 127.0.0.1 / localhost, made with the system openssl in the caller's temp dir: a
// client trusts the server only through the CA file, never through the system store.
import { execFileSync } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import path from 'node:path'

export interface TestCa {
  /** The CA's certificate (PEM): what a client is told to trust. */
  readonly caFile: string
  /** The server's certificate (PEM), signed by the CA, for IP:127.0.0.1 and DNS:localhost. */
  readonly certFile: string
  readonly keyFile: string
}

export function makeTestCa(dir: string): TestCa {
  const f = (name: string) => path.join(dir, name)
  const run = (args: string[]) => execFileSync('openssl', args, { stdio: 'ignore' })
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes']
  run(['req', '-x509', ...ec, '-keyout', f('ca.key'), '-out', f('ca.crt'), '-days', '1', '-subj', '/CN=gatehouse test CA'])
  run(['req', ...ec, '-keyout', f('server.key'), '-out', f('server.csr'), '-subj', '/CN=localhost'])
  writeFileSync(f('server.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n')
  run(['x509', '-req', '-in', f('server.csr'), '-CA', f('ca.crt'), '-CAkey', f('ca.key'), '-CAcreateserial', '-days', '1', '-out', f('server.crt'), '-extfile', f('server.ext')])
  return { caFile: f('ca.crt'), certFile: f('server.crt'), keyFile: f('server.key') }
}
