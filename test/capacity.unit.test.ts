// The benchmark's capacity meter prices calls by AWS's published rules.
import { describe, expect, it } from "vitest";
import { chargesOf, itemSize, readUnits, valueSize, writeUnits } from "../bench/capacity.js";

describe("item sizes, by DynamoDB's rules", () => {
  it("counts names and values: UTF-8 strings, numbers by significant digits, maps and lists with their overhead", () => {
    expect(valueSize({ S: "héllo" })).toBe(6);
    expect(valueSize({ N: "12345" })).toBe(4); // 5 digits → 3 bytes + 1
    expect(valueSize({ N: "1000" })).toBe(2); // trailing zeros do not count
    expect(valueSize({ BOOL: true })).toBe(1);
    expect(valueSize({ L: [{ S: "ab" }, { N: "1" }] })).toBe(3 + (2 + 1) + (2 + 1));
    expect(valueSize({ M: { a: { S: "xy" } } })).toBe(3 + 1 + 2 + 1);
    expect(itemSize({ key: { S: "cart:c-1" }, seq: { N: "7" } })).toBe(3 + 8 + 3 + 2);
  });

  it("rounds writes up per KB and reads per 4 KB, at least one unit, half for eventually consistent reads", () => {
    expect([writeUnits(1), writeUnits(1024), writeUnits(1025)]).toEqual([1, 1, 2]);
    expect([readUnits(0, true), readUnits(4097, true), readUnits(100, false)]).toEqual([1, 2, 0.5]);
  });
});

describe("charges per call", () => {
  const big = { id: { S: "x" }, blob: { S: "a".repeat(1500) } };

  it("charges a transaction twice per item, and a condition check as a write", () => {
    const charges = chargesOf("TransactWriteItems", { TransactItems: [{ Put: { TableName: "events", Item: big } }, { ConditionCheck: { TableName: "snapshots", Key: { id: { S: "x" } } } }] }, {});
    expect(charges.map((c) => [c.table, c.write])).toEqual([["events", 4], ["snapshots", 2]]);
  });

  it("charges a read that finds nothing one unit, and each missing key of a batch get", () => {
    expect(chargesOf("GetItem", { TableName: "outcomes", Key: { k: { S: "a" } }, ConsistentRead: true }, {})[0]!.read).toBe(1);
    const batch = chargesOf("BatchGetItem", { RequestItems: { snapshots: { Keys: [{ k: { S: "a" } }, { k: { S: "b" } }], ConsistentRead: true } } }, { Responses: { snapshots: [big] } });
    expect(batch[0]!.read).toBe(2);
  });

  it("sums a query page's items before rounding", () => {
    const items = Array.from({ length: 5 }, () => big); // 5 × ~1.5 KB ≈ 7.5 KB → 2 units
    expect(chargesOf("Query", { TableName: "events", ConsistentRead: true }, { Items: items })[0]!.read).toBe(2);
  });
});
