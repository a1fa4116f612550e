// A capacity meter: a DynamoDB client middleware that counts, per stage, the
// calls made and the read and write units AWS would charge for them, computed
// from item sizes by AWS's published rules (DynamoDB Local under-reports
// ConsumedCapacity for multi-item transactions and reports 0 for reads that
// find nothing). It sees each request as sent on the wire (low-level
// attribute values) and each answer as parsed.
//
// The rules (DynamoDB developer guide, "Read/write capacity mode" and "Item sizes"):
// * an item's size is the sum of its attribute names' and values' sizes: a
//   string its UTF-8 bytes, a number about 1 byte per 2 significant digits + 1,
//   binary its bytes, a boolean or null 1, a list or map 3 + 1 per element + the elements;
// * a write is 1 unit per started KB of the item (PutItem: the item written;
//   UpdateItem: the item after, estimated here from its key and the values the
//   update sets; DeleteItem and a condition check: 1), twice that in a transaction;
// * a strongly consistent read is 1 unit per started 4 KB, half eventually
//   consistent, twice in a transaction; GetItem and each BatchGetItem key cost
//   at least one (also when nothing is found); a Query sums its page's items
//   and rounds up once per page.
import type { AttributeValue } from "@aws-sdk/client-dynamodb";

type Item = Record<string, AttributeValue>;

const utf8 = (text: string) => Buffer.byteLength(text, "utf8");

/** The size DynamoDB counts for a number: 1 byte per two significant digits, plus 1. */
const numberSize = (n: string) => {
  const digits = n.replace(/^-/, "").replace(/[eE].*$/, "").replace(".", "").replace(/^0+/, "").replace(/0+$/, "");
  return Math.ceil(Math.max(digits.length, 1) / 2) + 1;
};

export const valueSize = (value: AttributeValue): number => {
  if (value.S !== undefined) return utf8(value.S);
  if (value.N !== undefined) return numberSize(value.N);
  if (value.B !== undefined) return typeof (value.B as unknown) === "string" ? Buffer.from(value.B as unknown as string, "base64").length : value.B.length;
  if (value.BOOL !== undefined || value.NULL !== undefined) return 1;
  if (value.SS) return value.SS.reduce((sum, s) => sum + utf8(s), 0);
  if (value.NS) return value.NS.reduce((sum, n) => sum + numberSize(n), 0);
  if (value.BS) return value.BS.reduce((sum, b) => sum + (typeof b === "string" ? Buffer.from(b, "base64").length : b.length), 0);
  if (value.L) return 3 + value.L.reduce((sum, v) => sum + valueSize(v) + 1, 0);
  if (value.M) return 3 + Object.entries(value.M).reduce((sum, [name, v]) => sum + utf8(name) + valueSize(v) + 1, 0);
  return 1;
};

export const itemSize = (item: Item | undefined): number =>
  item ? Object.entries(item).reduce((sum, [name, value]) => sum + utf8(name) + valueSize(value), 0) : 0;

export const writeUnits = (bytes: number) => Math.max(1, Math.ceil(bytes / 1024));
export const readUnits = (bytes: number, consistent: boolean) => Math.max(1, Math.ceil(bytes / 4096)) * (consistent ? 1 : 0.5);

/** An update's item after it: its key and what it sets, names included (an estimate: the item may hold more). */
const updatedSize = (input: { Key?: Item; ExpressionAttributeValues?: Item; ExpressionAttributeNames?: Record<string, string>; UpdateExpression?: string }) =>
  itemSize(input.Key) +
  Object.values(input.ExpressionAttributeValues ?? {}).reduce((sum, v) => sum + valueSize(v), 0) +
  Object.values(input.ExpressionAttributeNames ?? {}).reduce((sum, n) => sum + utf8(n), 0);

export interface Charge {
  readonly table: string;
  readonly read: number;
  readonly write: number;
  /** The items the call touched (written, or read back), for attributing a charge by item. */
  readonly items: readonly Item[];
}

/** The units one call costs, per table, by the rules above. `output` is the parsed answer (for reads). */
export const chargesOf = (operation: string, input: any, output: any): Charge[] => {
  const consistent = input?.ConsistentRead === true;
  switch (operation) {
    case "PutItem":
      return [{ table: input.TableName, read: 0, write: writeUnits(itemSize(input.Item)), items: [input.Item] }];
    case "UpdateItem":
      return [{ table: input.TableName, read: 0, write: writeUnits(updatedSize(input)), items: [input.Key] }];
    case "DeleteItem":
      return [{ table: input.TableName, read: 0, write: writeUnits(itemSize(output?.Attributes)), items: [input.Key] }];
    case "GetItem":
      return [{ table: input.TableName, read: readUnits(itemSize(output?.Item), consistent), write: 0, items: output?.Item ? [output.Item] : [input.Key] }];
    case "BatchGetItem":
      return Object.entries(input.RequestItems ?? {}).map(([table, request]: [string, any]) => {
        const found: Item[] = output?.Responses?.[table] ?? [];
        const missing = (request.Keys?.length ?? 0) - found.length;
        const strong = request.ConsistentRead === true;
        return { table, read: found.reduce((sum, item) => sum + readUnits(itemSize(item), strong), 0) + Math.max(0, missing) * readUnits(0, strong), write: 0, items: found.length ? found : request.Keys };
      });
    case "BatchWriteItem":
      return Object.entries(input.RequestItems ?? {}).map(([table, requests]: [string, any]) => ({
        table,
        read: 0,
        write: requests.reduce((sum: number, r: any) => sum + writeUnits(r.PutRequest ? itemSize(r.PutRequest.Item) : 0), 0),
        items: requests.map((r: any) => r.PutRequest?.Item ?? r.DeleteRequest?.Key),
      }));
    case "Query":
    case "Scan": {
      const items: Item[] = output?.Items ?? [];
      return [{ table: input.TableName, read: readUnits(items.reduce((sum, item) => sum + itemSize(item), 0), consistent), write: 0, items }];
    }
    case "TransactWriteItems":
      return (input.TransactItems ?? []).map((t: any) => {
        if (t.Put) return { table: t.Put.TableName, read: 0, write: 2 * writeUnits(itemSize(t.Put.Item)), items: [t.Put.Item] };
        if (t.Update) return { table: t.Update.TableName, read: 0, write: 2 * writeUnits(updatedSize(t.Update)), items: [t.Update.Key] };
        if (t.Delete) return { table: t.Delete.TableName, read: 0, write: 2, items: [t.Delete.Key] };
        return { table: t.ConditionCheck.TableName, read: 0, write: 2, items: [t.ConditionCheck.Key] };
      });
    case "TransactGetItems":
      return (input.TransactItems ?? []).map((t: any, i: number) => {
        const item = output?.Responses?.[i]?.Item;
        return { table: t.Get.TableName, read: 2 * readUnits(itemSize(item), true), write: 0, items: [item ?? t.Get.Key] };
      });
    default:
      return [];
  }
};

export interface StageTotals {
  calls: number;
  read: number;
  write: number;
}

/** A stage's name for a charge (by table, operation and item), or undefined to leave it uncounted. */
export type StageOf = (charge: Charge, operation: string) => string;

/** Meters every call `client` sends from now on; `reset()` starts a new count. */
export const meterCapacity = (client: { middlewareStack: { add: (...args: any[]) => void } }, stageOf: StageOf) => {
  const totals = new Map<string, StageTotals>();
  let on = true;
  client.middlewareStack.add(
    (next: (args: any) => Promise<any>) => async (args: any) => {
      const result = await next(args);
      if (!on) return result;
      const target = String(args.request?.headers?.["x-amz-target"] ?? "");
      const operation = target.split(".")[1] ?? "?";
      // The body as sent: a string, or bytes (the document client's path serializes to bytes).
      const raw = args.request?.body;
      const text = typeof raw === "string" ? raw : raw instanceof Uint8Array ? Buffer.from(raw).toString("utf8") : undefined;
      const input = text ? JSON.parse(text) : {};
      const calls = new Set<string>();
      for (const charge of chargesOf(operation, input, result.output)) {
        const stage = stageOf(charge, operation);
        const total = totals.get(stage) ?? { calls: 0, read: 0, write: 0 };
        if (!calls.has(stage)) total.calls++;
        calls.add(stage);
        total.read += charge.read;
        total.write += charge.write;
        totals.set(stage, total);
      }
      return result;
    },
    { step: "finalizeRequest", name: "benchCapacityMeter", priority: "low" },
  );
  return {
    totals,
    reset: () => totals.clear(),
    pause: () => void (on = false),
    resume: () => void (on = true),
  };
};
