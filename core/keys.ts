import type { PartitionBy } from "./decider.js";

/** A stream holds one aggregate's events: `cart:c-42`. */
export const streamIdOf = (microservice: string, aggregateId: string): string => `${microservice}:${aggregateId}`;

export const parseStreamId = (streamId: string): { microservice: string; aggregateId: string } | undefined => {
  const at = streamId.indexOf(":");
  return at > 0 ? { microservice: streamId.slice(0, at), aggregateId: streamId.slice(at + 1) } : undefined;
};

/** The commands-table key a command is counted under. */
export const commandKeyOf = (microservice: string, partitionBy: PartitionBy, aggregateId: string): string =>
  partitionBy === "microservice" ? microservice : streamIdOf(microservice, aggregateId);

/** A client's request id is unique per microservice and user; JSON keeps 17 and "17" apart. */
export const requestKeyOf = (microservice: string, user: string, id: string | number): string =>
  JSON.stringify([microservice, user, id]);

/** How a command is named in a chain (correlationId, causationId): `cart:c-1/3`, its outcome's path. */
export const commandRefOf = (key: string, seq: number): string => `${key}/${seq}`;

export const parseCommandRef = (ref: string): { key: string; seq: number } | undefined => {
  const at = ref.lastIndexOf("/");
  const seq = Number(ref.slice(at + 1));
  return at > 0 && Number.isInteger(seq) && seq > 0 ? { key: ref.slice(0, at), seq } : undefined;
};

/** How an event is named in a chain: its eventId, `streamId#version`. */
export const eventIdOf = (streamId: string, version: number): string => `${streamId}#${version}`;

export const parseEventRef = (ref: string): { streamId: string; version: number } | undefined => {
  const at = ref.lastIndexOf("#");
  const version = Number(ref.slice(at + 1));
  return at > 0 && Number.isInteger(version) && version > 0 ? { streamId: ref.slice(0, at), version } : undefined;
};

/** The role of every caller that is a service: an IAM-signed caller, a decider's sends, a process manager. */
export const SERVICE_ROLE = "service";

/** The identity a microservice sends commands with, from a decider or a process manager. */
export const serviceUserOf = (name: string): string => `service:${name}`;
