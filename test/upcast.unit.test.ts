// Upcasting on plain data: the chain of steps from the version an event was
// stored at to its type's current one, and the declarations it refuses.
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { cart } from "../core/cart/index.js";
import { defineMicroservice, type AnyMicroservice, type Message } from "../core/decider.js";
import type { AnyRegistry, Client } from "../core/client.js";
import { runProcessManager, type AnyProcessManager } from "../core/process-managers/index.js";
import type { EventRecord } from "../core/records.js";
import { currentTypeVersion, upcasterOf } from "../core/upcast.js";
import { eventRecord } from "./support/event-records.js";

type Renamed = Message<"Renamed", { readonly fullName: string; readonly locale: string; readonly trimmed: true }>;

/** Renamed v1 `{ name }` → v2 `{ fullName }` → v3 `{ fullName, locale }` → v4 `{ …, trimmed }`. */
const people = defineMicroservice({
  name: "people",
  partitionBy: "aggregate",
  schemaVersion: 1,
  commands: { Rename: z.strictObject({ fullName: z.string() }) },
  initialState: { fullName: "" },
  decide: (command): Renamed[] => [{ type: "Renamed", data: { fullName: command.data.fullName.trim(), locale: "en", trimmed: true } }],
  evolve: (_state: { fullName: string }, event: Renamed) => ({ fullName: event.data.fullName }),
  upcasters: {
    Renamed: [
      (v1: { name: string }) => ({ fullName: v1.name }),
      (v2: { fullName: string }) => ({ ...v2, locale: "en" }),
      (v3: { fullName: string; locale: string }) => ({ ...v3, fullName: v3.fullName.trim(), trimmed: true as const }),
    ],
  },
}) as unknown as AnyMicroservice;

const microservices = { people, cart: cart as unknown as AnyMicroservice };
const upcast = upcasterOf(microservices);

const renamed = (data: unknown, typeVersion?: number): EventRecord =>
  eventRecord({ streamId: "people:p-1", version: 1, type: "Renamed", data, ...(typeVersion === undefined ? {} : { typeVersion }) });

describe("upcasterOf", () => {
  it("runs every step from the stored version to the current one, in order", () => {
    const stored = renamed({ name: " Ada " });

    expect(upcast(stored)).toEqual({ ...stored, data: { fullName: "Ada", locale: "en", trimmed: true }, typeVersion: 4, storedTypeVersion: 1 });
    expect(upcast(renamed({ fullName: " Ada " }, 2))).toMatchObject({ data: { fullName: "Ada", locale: "en", trimmed: true }, typeVersion: 4, storedTypeVersion: 2 });
    expect(upcast(renamed({ fullName: " Ada ", locale: "fr" }, 3))).toMatchObject({ data: { fullName: "Ada", locale: "fr", trimmed: true }, storedTypeVersion: 3 });
  });

  it("upcasts the cart's ItemAdded v1 to v2 with the default currency, and leaves the stored record alone", () => {
    const stored = eventRecord({ streamId: "cart:c-1", version: 2, type: "ItemAdded", data: { sku: "apple", quantity: 2, unitPrice: 150 } });
    const frozen = structuredClone(stored);

    const read = upcast(stored);

    expect(read).toEqual({ ...stored, data: { sku: "apple", quantity: 2, unitPrice: 150, currency: "EUR" }, typeVersion: 2, storedTypeVersion: 1 });
    expect(stored).toEqual(frozen);
    expect(read).not.toBe(stored);
  });

  it("is idempotent: an upcast event comes back as the same object", () => {
    const once = upcast(renamed({ name: "Ada" }));

    expect(upcast(once)).toBe(once);
    expect(upcast(upcast(once))).toEqual(once);
  });

  it("returns a current event, or one no upcaster applies to, as the same object", () => {
    const current = renamed({ fullName: "Ada", locale: "en", trimmed: true }, 4);
    const unversioned = eventRecord({ streamId: "cart:c-1", version: 1, type: "CartOpened", data: { owner: "u-1" } });
    const foreign = eventRecord({ streamId: "wishlist:w-1", version: 1, type: "ItemAdded", data: {}, typeVersion: 9 });
    const currentCart = eventRecord({ streamId: "cart:c-1", version: 2, type: "ItemAdded", data: { sku: "a", quantity: 1, unitPrice: 1, currency: "USD" }, typeVersion: 2 });

    for (const event of [current, unversioned, foreign, currentCart]) expect(upcast(event)).toBe(event);
  });

  it("refuses an event stored at a version newer than the code knows: old code reading new data", () => {
    expect(() => upcast(renamed({}, 5))).toThrow(
      "event people:p-1#1 (people.Renamed) is stored at typeVersion 5, newer than this code knows (4): deploy the code that wrote it",
    );
    const unversioned = eventRecord({ streamId: "cart:c-1", version: 1, type: "CartOpened", data: { owner: "u-1" }, typeVersion: 2 });
    expect(() => upcast(unversioned)).toThrow("newer than this code knows (1)");
  });

  it("refuses a typeVersion that is not a version", () => {
    for (const typeVersion of [0, 1.5, -1]) expect(() => upcast(renamed({}, typeVersion))).toThrow("not a version");
  });
});

describe("runProcessManager", () => {
  it("reacts to each delivered event at its type's current version, given the store's upcaster", async () => {
    const seen: unknown[] = [];
    const manager: AnyProcessManager = { name: "pricing", from: [cart], eventTypes: ["ItemAdded"], react: (event: EventRecord) => (seen.push(event.data), []) };
    const client = { send: async () => ({}) } as unknown as Client<AnyRegistry>;
    const stored = eventRecord({ streamId: "cart:c-1", version: 2, type: "ItemAdded", data: { sku: "apple", quantity: 2, unitPrice: 150 } });

    await runProcessManager(manager, client, [stored], upcast);

    expect(seen).toEqual([{ sku: "apple", quantity: 2, unitPrice: 150, currency: "EUR" }]);
  });
});

describe("currentTypeVersion", () => {
  it("is the number of steps plus one for a type with upcasters, and undefined (stored as absent) for the rest", () => {
    expect(currentTypeVersion(people, "Renamed")).toBe(4);
    expect(currentTypeVersion(cart as unknown as AnyMicroservice, "ItemAdded")).toBe(2);
    expect(currentTypeVersion(cart as unknown as AnyMicroservice, "CartOpened")).toBeUndefined();
    expect(currentTypeVersion(undefined, "ItemAdded")).toBeUndefined();
  });
});

describe("declaring upcasters", () => {
  const base = {
    name: "shop",
    partitionBy: "aggregate" as const,
    schemaVersion: 1,
    commands: {},
    initialState: {},
    decide: (): Message<"Sold", { price: number }>[] => [],
    evolve: (state: object) => state,
  };

  it("refuses an upcaster that is not a function, naming the microservice, the type and the step", () => {
    // @ts-expect-error a step must be a function
    expect(() => defineMicroservice({ ...base, upcasters: { Sold: [(v1: object) => ({ ...v1, price: 0 }), "v2"] } })).toThrow(
      "shop: upcasters.Sold[1] (version 2 → 3) is not a function",
    );
    // @ts-expect-error the steps are a list
    expect(() => defineMicroservice({ ...base, upcasters: { Sold: (v1: object) => v1 } })).toThrow(
      "shop: upcasters.Sold must be a list of functions (version 1 → 2, 2 → 3, …)",
    );
  });

  it("refuses the same when the app's stores are built from microservices not made by defineMicroservice", () => {
    const handMade = { ...base, upcasters: { Sold: [42] } } as unknown as AnyMicroservice;

    expect(() => upcasterOf({ shop: handMade })).toThrow("shop: upcasters.Sold[0] (version 1 → 2) is not a function");
  });

  it("types the keys as the microservice's event types and the last step's result as the current data", () => {
    // Event types are known to the compiler only (a microservice lists none at run time): checked here by tsc.
    const compileOnly = () => {
      // @ts-expect-error "Refunded" is not an event type of this microservice
      defineMicroservice({ ...base, upcasters: { Refunded: [(v1: object) => v1] } });
      // @ts-expect-error the last step must return Sold's current data ({ price: number })
      defineMicroservice({ ...base, upcasters: { Sold: [(v1: { cents: number }) => ({ cents: v1.cents })] } });
      defineMicroservice({ ...base, upcasters: { Sold: [(v1: { cents: number }) => ({ price: v1.cents / 100 })] } });
    };
    expect(compileOnly).toBeTypeOf("function");
    expect(() => defineMicroservice({ ...base, upcasters: { Sold: [(v1: { cents: number }) => ({ price: v1.cents / 100 })] } })).not.toThrow();
  });
});
