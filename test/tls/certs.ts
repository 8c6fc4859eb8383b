/**
 * Test certificates made with the openssl CLI in a temporary folder: a CA, and certificates it
 * issues for 127.0.0.1 (usable as server and as client certificate), each with its own CN.
 *
 * @module
 */
import { execFileSync } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export interface Ca {
  readonly dir: string
  readonly cert: string
  readonly key: string
}

export interface CertFiles {
  readonly cert: string
  readonly key: string
}

function openssl(args: readonly string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] })
}

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), prefix))
}

/** A self-signed CA named `name` in `dir`. */
export function makeCa(dir: string, name: string): Ca {
  const key = join(dir, `${name}.key`)
  const cert = join(dir, `${name}.crt`)
  openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '2', '-subj', `/CN=${name}`], dir)
  return { dir, cert, key }
}

/** A certificate for 127.0.0.1 with common name `cn`, issued by `ca`. */
export function issue(ca: Ca, file: string, cn: string): CertFiles {
  const dir = ca.dir
  const key = join(dir, `${file}.key`)
  const csr = join(dir, `${file}.csr`)
  const cert = join(dir, `${file}.crt`)
  const ext = join(dir, `${file}.ext`)
  writeFileSync(ext, 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n')
  openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', csr, '-subj', `/CN=${cn}`], dir)
  openssl(['x509', '-req', '-in', csr, '-CA', ca.cert, '-CAkey', ca.key, '-CAcreateserial', '-out', cert, '-days', '2', '-extfile', ext], dir)
  return { cert, key }
}
