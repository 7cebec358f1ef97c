// The NodeCA gRPC service's wire contract (proto/ca.proto): message shapes, method paths and a
// grpc-js ServiceDefinition with protobufjs codecs, shared by the server (ca-server.ts) and the
// clients (client-credentials.ts). Like manager/raft/codec.ts, the schema is loaded at run time
// by walking up from this file to the repository root, so it works from source and from dist/.
import { join } from 'node:path';
import type * as grpc from '@grpc/grpc-js';
import protobuf from 'protobufjs';
import { protoDir } from '../../shared/proto.js';


export const NODE_CA_SERVICE_NAME = 'berth.ca.NodeCA';

export const NODE_CA_METHODS = {
  getRootCA: `/${NODE_CA_SERVICE_NAME}/GetRootCA`,
  issueNodeCertificate: `/${NODE_CA_SERVICE_NAME}/IssueNodeCertificate`,
  renewNodeCertificate: `/${NODE_CA_SERVICE_NAME}/RenewNodeCertificate`,
} as const;

/**
 * The only calls a node without a client certificate may make: it has none until
 * IssueNodeCertificate answers. Every other method on a cluster port requires one (peer-identity.ts).
 */
export const UNAUTHENTICATED_METHODS: ReadonlySet<string> = new Set([NODE_CA_METHODS.getRootCA, NODE_CA_METHODS.issueNodeCertificate]);

/** Trailer a follower sets on FAILED_PRECONDITION: the leader's address, for the caller to retry at. */
export const LEADER_ADDR_METADATA_KEY = 'berth-leader-addr';

// Field names are protobufjs's camel-cased forms of the proto names.
export type GetRootCARequest = Record<string, never>;
export interface GetRootCAResponse {
  certificate: string;
}
export interface IssueNodeCertificateRequest {
  csr: string;
  token: string;
  availability: string;
  addr: string;
}
export interface IssueNodeCertificateResponse {
  nodeId: string;
  certificate: string;
  role: string;
  caCertificate: string;
}
export interface RenewNodeCertificateRequest {
  csr: string;
}


const root = protobuf.loadSync(join(protoDir(), 'ca.proto'));

interface Codec<T> {
  serialize(value: T): Buffer;
  deserialize(bytes: Buffer): T;
}

function codecFor<T>(typeName: string): Codec<T> {
  const type = root.lookupType(`berth.ca.${typeName}`);
  return {
    serialize: (value) => Buffer.from(type.encode(type.fromObject(value as Record<string, unknown>)).finish()),
    // defaults: absent strings read as '' rather than undefined, as proto3 means them.
    deserialize: (bytes) => type.toObject(type.decode(bytes), { defaults: true }) as T,
  };
}

const getRootCARequest = codecFor<GetRootCARequest>('GetRootCARequest');
const getRootCAResponse = codecFor<GetRootCAResponse>('GetRootCAResponse');
const issueRequest = codecFor<IssueNodeCertificateRequest>('IssueNodeCertificateRequest');
const issueResponse = codecFor<IssueNodeCertificateResponse>('IssueNodeCertificateResponse');
const renewRequest = codecFor<RenewNodeCertificateRequest>('RenewNodeCertificateRequest');

function unary<Req, Res>(path: string, originalName: string, request: Codec<Req>, response: Codec<Res>): grpc.MethodDefinition<Req, Res> {
  return {
    path,
    requestStream: false,
    responseStream: false,
    requestSerialize: request.serialize,
    requestDeserialize: request.deserialize,
    responseSerialize: response.serialize,
    responseDeserialize: response.deserialize,
    originalName,
  };
}

export const NODE_CA_SERVICE = {
  getRootCA: unary(NODE_CA_METHODS.getRootCA, 'GetRootCA', getRootCARequest, getRootCAResponse),
  issueNodeCertificate: unary(NODE_CA_METHODS.issueNodeCertificate, 'IssueNodeCertificate', issueRequest, issueResponse),
  renewNodeCertificate: unary(NODE_CA_METHODS.renewNodeCertificate, 'RenewNodeCertificate', renewRequest, issueResponse),
} satisfies grpc.ServiceDefinition;
