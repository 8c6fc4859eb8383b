/**
 * `npm run build:member`: bundles workers/member.ts (and the src/ it imports) into dist/member.mjs,
 * the file members run from with plain node (see src/cli/member-bundle.ts for why and how):
 *
 *   node --import tsx workers/build-member.ts [--root <checkout>]
 *   MALLOC_MMAP_THRESHOLD_=131072 node --max-semi-space-size=4 --initial-old-space-size=64 \
 *     dist/member.mjs --name m1 …         (MEMBER_ENV, MEMBER_NODE_FLAGS)
 *
 * @module
 */
import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { buildMember, ROOT } from '../src/cli/member-bundle.ts'

const i = process.argv.indexOf('--root')
const root = i > 0 && process.argv[i + 1] !== undefined ? resolve(process.argv[i + 1] as string) : ROOT
const out = await buildMember(root)
console.log(`member: ${out} (${(readFileSync(out).length / 1024).toFixed(0)} KiB)`)
