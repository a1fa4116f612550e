// DynamoDB stream records → the items they carry, with the sequence number a
// partial batch failure names.
import type { AttributeValue } from "@aws-sdk/client-dynamodb";
import { unmarshall } from "@aws-sdk/util-dynamodb";
import type { DynamoDBStreamEvent } from "aws-lambda";

export interface Delivered<T> {
  readonly sequenceNumber: string;
  readonly item: T;
}

/** Each record's new image, skipping records without one (removals) and, with `only`, other event names. */
export const newImages = <T>(event: DynamoDBStreamEvent, only?: "INSERT" | "MODIFY"): Delivered<T>[] =>
  event.Records.flatMap((record) => {
    const image = record.dynamodb?.NewImage;
    if (!image || (only && record.eventName !== only)) return [];
    return [{ sequenceNumber: record.dynamodb!.SequenceNumber!, item: unmarshall(image as Record<string, AttributeValue>) as T }];
  });
