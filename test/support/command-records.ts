// Record factories: commands as the commands table's stream delivers them,
// and the DynamoDB stream events that carry them to the sequencer.
import { marshall } from "@aws-sdk/util-dynamodb";
import type { AttributeValue, DynamoDBRecord, DynamoDBStreamEvent } from "aws-lambda";
import { streamIdOf } from "../../core/keys.js";
import type { CommandRecord } from "../../core/records.js";

export const RECEIVED_AT = 1_700_000_000_000;

/**
 * A command record with everything the stream image holds. By default it is
 * keyed per aggregate (`type:aggregateId`), sent by `u-1`, and its client id
 * is derived from the aggregate and seq so no two records share one by accident.
 */
export const commandRecord = (
  fields: Pick<CommandRecord, "aggregateId" | "seq" | "command"> & Partial<CommandRecord>,
): CommandRecord => {
  const type = fields.type ?? "cart";
  return {
    key: streamIdOf(type, fields.aggregateId),
    type,
    id: `${fields.aggregateId}/${fields.seq}`,
    user: "u-1",
    occurredAt: RECEIVED_AT,
    receivedAt: RECEIVED_AT,
    payload: {},
    ...fields,
  };
};

/** Commands for one aggregate, seq `from`, `from + 1`, … in the order given. */
export const commandsFor = (
  aggregateId: string,
  commands: readonly { command: string; payload?: Record<string, unknown>; id?: string | number; user?: string }[],
  from = 1,
): CommandRecord[] => commands.map((c, i) => commandRecord({ aggregateId, seq: from + i, ...c }));

// @types/aws-lambda and the SDK type the same wire format separately.
const image = (item: Record<string, unknown>) =>
  marshall(item, { removeUndefinedValues: true }) as unknown as Record<string, AttributeValue>;

const sequenceNumber = (record: CommandRecord) => `${record.key}#${String(record.seq).padStart(12, "0")}`;

/** A stream record (INSERT for seq 1, MODIFY after) whose new image is `record`. */
export const streamRecord = (record: CommandRecord): DynamoDBRecord => ({
  eventID: sequenceNumber(record),
  eventName: record.seq === 1 ? "INSERT" : "MODIFY",
  eventVersion: "1.1",
  eventSource: "aws:dynamodb",
  awsRegion: "local",
  eventSourceARN: "arn:aws:dynamodb:local:000000000000:table/commands/stream/2024-01-01T00:00:00.000",
  dynamodb: {
    Keys: image({ key: record.key }),
    NewImage: image({ ...record }),
    SequenceNumber: sequenceNumber(record),
    SizeBytes: 256,
    StreamViewType: "NEW_IMAGE",
  },
});

export const streamEvent = (records: readonly CommandRecord[]): DynamoDBStreamEvent => ({
  Records: records.map(streamRecord),
});
