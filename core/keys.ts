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
