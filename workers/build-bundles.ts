/**
 * `npm run build:bundles`: bundles workers/member.ts and workers/gateway-node.ts (and the src/ they
 * import) into dist/member.mjs and dist/gateway.mjs, the files members and the Node gateway run
 * from with plain node (see src/cli/bundles.ts for why and how):
 *
 *   node --import tsx workers/build-bundles.ts [--root <checkout>]
 *   MALLOC_MMAP_THRESHOLD_=131072 node --max-semi-space-size=4 --initial-old-space-size=32 \
 *     dist/member.mjs --name m1 …         (MEMBER_ENV, MEMBER_NODE_FLAGS)
 *   node dist/gateway.mjs --listen 127.0.0.1:2379 --endpoints …
 *
 * @module
 */
import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { buildBundle, ROOT, type BundleName } from '../src/cli/bundles.ts'

const i = process.argv.indexOf('--root')
const root = i > 0 && process.argv[i + 1] !== undefined ? resolve(process.argv[i + 1] as string) : ROOT
for (const name of ['member', 'gateway'] as const satisfies readonly BundleName[]) {
  const out = await buildBundle(name, root)
  console.log(`${name}: ${out} (${(readFileSync(out).length / 1024).toFixed(0)} KiB)`)
}
