/**
 * The `edgecd` executable (bin/edgecd.js loads it through tsx): runs one command (program.ts)
 * with the process's arguments, environment and stdio, then exits with its code. A closed stdout
 * (`edgecd watch … | head`) ends the process quietly.
 *
 * @module
 */
import { useUntimedFetch } from '../client/untimed-fetch.ts'
import { stdio } from './output.ts'
import { run } from './program.ts'

// A lock may wait, and a watch stay quiet, for longer than undici's 300 s.
useUntimedFetch()

process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(0)
  throw err
})
process.exit(await run(process.argv.slice(2), process.env, stdio))
