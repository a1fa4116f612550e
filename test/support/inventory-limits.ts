// The largest warehouse the inventory's LIMITS allow: what its snapshot, one
// DynamoDB item, must hold under the 400 KB item limit.
import { LIMITS, type InventoryState, type StockLine } from "../../core/inventory/index.js";
import type { SnapshotRecord } from "../../core/records.js";

/** DynamoDB's item limit: 400 KB, counted as 1,024 bytes a KB. */
export const DYNAMODB_ITEM_LIMIT = 400 * 1024;

/** The longest a sku and a reservation id may be (the commands' schemas), in UTF-8 bytes. */
export const SKU_BYTES = 64;
export const RESERVATION_ID_BYTES = 128;
/** The most one line may ask for. */
export const MAX_LINE_QUANTITY = 1_000_000;
/** Restocks add up without a cap; past this the counts would no longer be exact anyway. */
export const MAX_ON_HAND = Number.MAX_SAFE_INTEGER;

/** A distinct text of exactly `bytes` UTF-8 bytes, made of `fill` after the number `n`. */
export const textOf = (n: number, bytes: number, fill = "x"): string => {
  const head = `${String(n).padStart(6, "0")}-`;
  const fillBytes = Buffer.byteLength(fill);
  const text = head + fill.repeat(Math.floor((bytes - head.length) / fillBytes));
  return text + "x".repeat(bytes - Buffer.byteLength(text));
};

export const utf8Bytes = (value: unknown): number => Buffer.byteLength(JSON.stringify(value), "utf8");

/**
 * A warehouse at every limit: LIMITS.skus skus of the longest name, each with
 * the most on hand; LIMITS.reservations reservations of the longest id, holding
 * LIMITS.reservedLines lines between them, each of the largest quantity and
 * each on its own sku (so every sku's `reserved` has as many digits as it can).
 * `skus` and `reservations` leave room below the limits, for a test to fill.
 */
export const fullWarehouse = ({
  skus = LIMITS.skus,
  reservations = LIMITS.reservations,
  fill = "x",
}: { skus?: number; reservations?: number; fill?: string } = {}): InventoryState => {
  const names = Array.from({ length: skus }, (_, i) => textOf(i, SKU_BYTES, fill));
  const linesEach = LIMITS.reservedLines / LIMITS.reservations;
  const open: Record<string, StockLine[]> = {};
  for (let r = 0; r < reservations; r++)
    open[textOf(r, RESERVATION_ID_BYTES, fill)] = names.slice(r * linesEach, (r + 1) * linesEach).map((sku) => ({ sku, quantity: MAX_LINE_QUANTITY }));
  const reserved = new Set(Object.values(open).flatMap((lines) => lines.map((line) => line.sku)));
  return {
    skus: Object.fromEntries(names.map((sku) => [sku, { onHand: MAX_ON_HAND, reserved: reserved.has(sku) ? MAX_LINE_QUANTITY : 0 }])),
    reservations: open,
  };
};

/** The snapshot item a warehouse is stored as, with the longest warehouse id and large counters. */
export const snapshotOf = (state: InventoryState, warehouse = textOf(0, 128)): SnapshotRecord => ({
  streamId: `inventory:${warehouse}`,
  version: Number.MAX_SAFE_INTEGER,
  schemaVersion: 1,
  lastSeq: Number.MAX_SAFE_INTEGER,
  state,
  updatedAt: 1_800_000_000_000,
});
