/** The interaction commands by name; each lives in its own file. */
import { addNodes } from './add-nodes.ts'
import type { Args } from './args.ts'
import { campaign } from './campaign.ts'
import { compact } from './compact.ts'
import { deliverMsgs } from './deliver-msgs.ts'
import type { InteractionEnv } from './env.ts'
import { heal, isolate } from './partition.ts'
import { processReady } from './process-ready.ts'
import { propose } from './propose.ts'
import { proposeConfChange } from './propose-conf-change.ts'
import { raftLog } from './raft-log.ts'
import { readIndex } from './read-index.ts'
import { reportSnapshot, reportUnreachable } from './report.ts'
import { restart } from './restart.ts'
import { stabilize } from './stabilize.ts'
import { status } from './status.ts'
import { tickElection, tickHeartbeat } from './tick.ts'
import { transferLeadership } from './transfer-leadership.ts'

export type Command = (env: InteractionEnv, args: Args) => void

export const COMMANDS: Readonly<Record<string, Command>> = {
  'add-nodes': addNodes,
  campaign,
  compact,
  'deliver-msgs': deliverMsgs,
  heal,
  isolate,
  'process-ready': processReady,
  propose,
  'propose-conf-change': proposeConfChange,
  'raft-log': raftLog,
  'read-index': readIndex,
  'report-snapshot': reportSnapshot,
  'report-unreachable': reportUnreachable,
  restart,
  stabilize,
  status,
  'tick-election': tickElection,
  'tick-heartbeat': tickHeartbeat,
  'transfer-leadership': transferLeadership,
}
