/**
 * gRPC's standard health service, `grpc.health.v1.Health`, as etcd 3.4 serves it on its client
 * port (Kubernetes' gRPC probes and grpc_health_probe ask it): the server as a whole, service
 * "", is SERVING while it runs, whatever the cluster's state (a probe that failed without a
 * leader would restart members that are fine); any other service name is unknown: Check fails
 * with NOT_FOUND "unknown service", Watch sends SERVICE_UNKNOWN once and stays open, as grpc-go's
 * health server does.
 *
 * @module
 */
import type * as grpc from '@grpc/grpc-js'
import { decodeProto, encodeProto } from '../api/proto-wire.ts'
import { enumOf, field, K, message } from '../api/schema.ts'

interface HealthCheckRequest {
  readonly service?: string
}

type ServingStatus = 'UNKNOWN' | 'SERVING' | 'NOT_SERVING' | 'SERVICE_UNKNOWN'

interface HealthCheckResponse {
  readonly status: ServingStatus
}

const HealthCheckRequestSchema = message<HealthCheckRequest>('grpc.health.v1.HealthCheckRequest', [field(1, 'service', K.string)])

const HealthCheckResponseSchema = message<HealthCheckResponse>('grpc.health.v1.HealthCheckResponse', [
  field(1, 'status', enumOf({ goName: 'grpc_health_v1.HealthCheckResponse_ServingStatus', names: ['UNKNOWN', 'SERVING', 'NOT_SERVING', 'SERVICE_UNKNOWN'] })),
])

/** The status of `service`: only the whole server ("") is known. */
function statusOf(request: HealthCheckRequest): ServingStatus {
  return (request.service ?? '') === '' ? 'SERVING' : 'SERVICE_UNKNOWN'
}

function method(name: string, responseStream: boolean): grpc.MethodDefinition<HealthCheckRequest, HealthCheckResponse> {
  return {
    path: `/grpc.health.v1.Health/${name}`,
    requestStream: false,
    responseStream,
    requestSerialize: (value) => Buffer.from(encodeProto(HealthCheckRequestSchema, value)),
    requestDeserialize: (bytes) => decodeProto(HealthCheckRequestSchema, bytes),
    responseSerialize: (value) => Buffer.from(encodeProto(HealthCheckResponseSchema, value)),
    responseDeserialize: (bytes) => decodeProto(HealthCheckResponseSchema, bytes),
    originalName: name,
  }
}

export const HEALTH_DEFINITION: grpc.ServiceDefinition = { Check: method('Check', false), Watch: method('Watch', true) }

export const HEALTH_HANDLERS: grpc.UntypedServiceImplementation = {
  Check: ((call, callback) => {
    const status = statusOf(call.request)
    if (status === 'SERVICE_UNKNOWN') callback({ code: 5, details: 'unknown service' })
    else callback(null, { status })
  }) satisfies grpc.handleUnaryCall<HealthCheckRequest, HealthCheckResponse>,
  // The status never changes while the server runs: one message, then the stream stays open
  // until the client leaves or the server closes.
  Watch: ((call) => {
    call.write({ status: statusOf(call.request) })
  }) satisfies grpc.handleServerStreamingCall<HealthCheckRequest, HealthCheckResponse>,
}
