/**
 * `snapshot save <file> | status <file> | restore <file> [flags]` (see snapshot-file.ts for the
 * file and what a restore builds).
 *
 * - save streams `/v3/maintenance/snapshot` into `<file>.part`, checks the SHA-256 the stream ends
 *   with, keeps it at the end of the file (as etcd does), and renames the file into place;
 * - status prints hash, revision, total keys and total size (simple, json or table);
 * - restore builds a new member's data dir: `--name`, `--data-dir`, `--initial-cluster`,
 *   `--initial-cluster-token`, `--initial-advertise-peer-urls`, `--skip-hash-check`, with the
 *   member's defaults (src/member/config.ts) for the ones not given. Start the member with the
 *   same name, cluster and token.
 *
 * @module
 */
import type { Command } from 'commander'
import { createHash } from 'node:crypto'
import { open, readFile, rename, rm } from 'node:fs/promises'
import type { Cli } from './context.ts'
import { CliError, ExitCode } from './errors.ts'
import { idHex } from './format.ts'

/** The offline snapshot code (sql.js, storage, member), loaded only by the commands that need it. */
const offline = (): Promise<typeof import('./snapshot-file.ts')> => import('./snapshot-file.ts')

const RESTORE_FLAGS = [
  'name', 'data-dir', 'initial-cluster', 'initial-cluster-token', 'initial-advertise-peer-urls',
] as const

interface RestoreFlags {
  readonly name?: string
  readonly dataDir?: string
  readonly initialCluster?: string
  readonly initialClusterToken?: string
  readonly initialAdvertisePeerUrls?: string
  readonly skipHashCheck?: boolean
}

/** Streams the snapshot into `path`; resolves once it is complete, checked and in place. */
async function save(c: Cli, path: string): Promise<void> {
  const client = await c.streamClient()
  const part = `${path}.part`
  const file = await open(part, 'w')
  try {
    const hash = createHash('sha256')
    let last: Uint8Array | null = null
    for await (const blob of client.maintenance.snapshot()) {
      if (last !== null) {
        hash.update(last)
        await file.write(last)
      }
      last = blob
    }
    const digest = hash.digest()
    if (last === null || Buffer.compare(Buffer.from(last), digest) !== 0)
      throw new CliError(ExitCode.Interrupted, 'snapshot: the stream did not end with the SHA-256 of what it sent')
    await file.write(last)
    await file.sync()
    await file.close()
    await rename(part, path)
  } catch (err) {
    await file.close().catch(() => undefined)
    await rm(part, { force: true })
    throw err instanceof CliError ? err : new CliError(ExitCode.Interrupted, (err as Error).message)
  }
}

async function readSnapshot(file: string): Promise<Uint8Array> {
  try {
    return new Uint8Array(await readFile(file))
  } catch (err) {
    throw new CliError(ExitCode.Error, (err as Error).message)
  }
}

export function registerSnapshot(program: Command, cli: () => Cli): void {
  const snapshot = program.command('snapshot').description('Manages etcd node snapshots')

  snapshot
    .command('save')
    .description('Stores an etcd node backend snapshot to a given file')
    .argument('<filename>')
    .action(async (path: string) => {
      const c = cli()
      await save(c, path)
      c.output.out(`Snapshot saved at ${path}`)
    })

  snapshot
    .command('status')
    .description('Gets backend snapshot status of a given file (simple: hash, revision, total keys, total size)')
    .argument('<filename>')
    .action(async (file: string) => {
      const c = cli()
      const { snapshotImage, snapshotStatus } = await offline()
      const image = snapshotImage(await readSnapshot(file), file, true)
      c.printer().dbStatus(await snapshotStatus(image, file))
    })

  snapshot
    .command('restore')
    .description('Restores an etcd member snapshot to an etcd directory')
    .argument('<filename>')
    .option('--data-dir <dir>', 'Path to the data directory (default ./data/<name>)')
    .option('--initial-cluster <list>', 'Initial cluster for restore bootstrap (default <name>=<peer URL>)')
    .option('--initial-cluster-token <token>', 'Initial cluster token for restore bootstrap (default edgecd-cluster)')
    .option('--initial-advertise-peer-urls <urls>', "List of this member's peer URLs (default http://127.0.0.1:2381)")
    .option('--name <name>', 'Human-readable name for this member (default "default")')
    .option('--skip-hash-check', 'Ignore snapshot integrity hash value (required if copied from data directory)')
    .action(async (file: string, flags: RestoreFlags) => {
      const c = cli()
      const given = flags as Readonly<Record<string, string | undefined>>
      const args = RESTORE_FLAGS.flatMap((f) => {
        const v = given[f.replace(/-(.)/g, (_, ch: string) => ch.toUpperCase())]
        return v === undefined ? [] : [`--${f}`, v]
      })
      const { restoreConfig, restoreSnapshot, snapshotImage } = await offline()
      const config = restoreConfig(args)
      const image = snapshotImage(await readSnapshot(file), file, flags.skipHashCheck === true)
      const identity = await restoreSnapshot(image, file, config)
      c.output.err(
        `restored snapshot ${file} into ${config.dataDir}: member ${config.name} ` +
          `(${idHex(BigInt(identity.memberId))}) of cluster ${idHex(BigInt(identity.clusterId))}, ` +
          `token ${config.initialClusterToken}`,
      )
    })
}
