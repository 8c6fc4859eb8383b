#!/usr/bin/env node
// The `edgecd` command: registers tsx's loader in this process, then runs src/cli/main.ts.
import { register } from 'tsx/esm/api'

register()
await import('../src/cli/main.ts')
