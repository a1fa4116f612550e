// The typed client on a recording transport: what it sends, what it infers.
// The `@ts-expect-error` lines are the type tests: `npm run typecheck` fails
// if a wrong command name or payload ever type-checks.
import { describe, expect, expectTypeOf, it } from "vitest";
import { createClient, MAX_WAIT_SECONDS, OrdinalClientError, type Outcome, type OutgoingEnvelope, type Transport } from "../core/client.js";
import { MAX_WAIT_SECONDS as API_MAX_WAIT_SECONDS } from "../functions/command.js";

const recording = () => {
  const sent: { envelope: OutgoingEnvelope; wait: number }[] = [];
  const transport: Transport = {
    send: async (envelope, wait) => {
      sent.push({ envelope, wait });
      return { status: "pending", key: `cart:${envelope.aggregateId}`, seq: 1, correlationId: `cart:${envelope.aggregateId}/1` };
    },
  };
  return { sent, transport };
};

describe("the typed client", () => {
  it("sends the envelope with a ULID request id by default, and the chain and wait it is given", async () => {
    // Prepare
    const { sent, transport } = recording();
    const ordinal = createClient(transport);

    // Act
    await ordinal.send("cart", "AddItem", "c-1", { sku: "SKU-1", quantity: 2, unitPrice: 1299 });
    await ordinal.send("inventory", "Restock", "main", { sku: "SKU-1", quantity: 5 }, {
      id: 7,
      wait: 5,
      timestamp: 1_795_440_000_000,
      correlationId: "cart:c-1/1",
      causationId: "cart:c-1#2",
    });

    // Assess
    expect(sent[0]).toEqual({
      envelope: { type: "cart", command: "AddItem", aggregateId: "c-1", id: expect.stringMatching(/^[0-9A-HJKMNP-TV-Z]{26}$/), payload: { sku: "SKU-1", quantity: 2, unitPrice: 1299 } },
      wait: 0,
    });
    expect(sent[1]).toEqual({
      envelope: {
        type: "inventory",
        command: "Restock",
        aggregateId: "main",
        id: 7,
        timestamp: 1_795_440_000_000,
        correlationId: "cart:c-1/1",
        causationId: "cart:c-1#2",
        payload: { sku: "SKU-1", quantity: 5 },
      },
      wait: 5,
    });
  });

  it("refuses a wait the API would refuse, before sending anything", async () => {
    const { sent, transport } = recording();
    const ordinal = createClient(transport);
    for (const wait of [-1, 1.5, MAX_WAIT_SECONDS + 1]) {
      const error = await ordinal.send("cart", "OpenCart", "c-1", {}, { wait }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(OrdinalClientError);
      expect(error).toMatchObject({ status: 400, body: { error: "ValidationError", issues: [{ field: "wait" }] } });
    }
    expect(sent).toEqual([]);
    expect(MAX_WAIT_SECONDS).toBe(API_MAX_WAIT_SECONDS);
  });

  it("infers command names and payloads from the microservice definitions", () => {
    const ordinal = createClient(recording().transport);
    expectTypeOf(ordinal.send).parameter(0).toEqualTypeOf<"cart" | "account" | "inventory">();
    expectTypeOf(ordinal.send<"cart", "AddItem">).parameter(3).toEqualTypeOf<{ sku: string; quantity: number; unitPrice: number }>();
    expectTypeOf(ordinal.send<"cart", "Checkout">).parameter(3).toEqualTypeOf<{ warehouse?: string | undefined }>();
    expectTypeOf(ordinal.send("cart", "OpenCart", "c-1", {})).resolves.toEqualTypeOf<Outcome>();

    // Only checked by the compiler: the calls are never made.
    const compileOnly = () => {
      // @ts-expect-error no microservice "carts"
      void ordinal.send("carts", "OpenCart", "c-1", {});
      // @ts-expect-error cart has no command "Restock" (inventory has)
      void ordinal.send("cart", "Restock", "c-1", { sku: "SKU-1", quantity: 1 });
      // @ts-expect-error AddItem needs a unitPrice
      void ordinal.send("cart", "AddItem", "c-1", { sku: "SKU-1", quantity: 1 });
      // @ts-expect-error quantity is a number
      void ordinal.send("cart", "AddItem", "c-1", { sku: "SKU-1", quantity: "1", unitPrice: 1 });
      // @ts-expect-error OpenCart takes no fields
      void ordinal.send("cart", "OpenCart", "c-1", { owner: "u-1" });
      // @ts-expect-error ReserveStock's lines are objects
      void ordinal.send("inventory", "ReserveStock", "main", { reservationId: "r-1", lines: ["SKU-1"] });
      // @ts-expect-error wait is in seconds, a number
      void ordinal.send("cart", "OpenCart", "c-1", {}, { wait: "5" });
    };
    expect(compileOnly).toBeTypeOf("function");
  });
});
