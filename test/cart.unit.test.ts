// The cart's rules as specifications, and the envelope every command arrives in.
import { describe, expect, it } from "vitest";
import { cart, type CartCommand, type CartEvent } from "../core/cart/index.js";
import { parseEnvelope } from "../core/envelope.js";
import { ValidationError, type FieldIssue } from "../core/errors.js";
import type { AnyMicroservice } from "../core/decider.js";
import { deciderSpec } from "./support/decider-spec.js";

const { given } = deciderSpec(cart, { now: 1_700_000_000_000, user: "alice", roles: [], aggregateId: "c-1" });

const openCart: CartCommand = { type: "OpenCart", data: {} };
const addItem = (sku: string, quantity: number, unitPrice: number, currency = "EUR"): CartCommand => ({
  type: "AddItem",
  data: { sku, quantity, unitPrice, currency },
});
const removeItem = (sku: string, quantity?: number): CartCommand => ({
  type: "RemoveItem",
  data: quantity === undefined ? { sku } : { sku, quantity },
});
const closeCart: CartCommand = { type: "CloseCart", data: {} };

const cartOpened = (owner: string): CartEvent => ({ type: "CartOpened", data: { owner } });
const itemAdded = (sku: string, quantity: number, unitPrice: number, currency = "EUR"): CartEvent => ({
  type: "ItemAdded",
  data: { sku, quantity, unitPrice, currency },
});
const itemRemoved = (sku: string, quantity: number): CartEvent => ({ type: "ItemRemoved", data: { sku, quantity } });
const cartClosed = (total: number): CartEvent => ({ type: "CartClosed", data: { total } });

const opened = [cartOpened("alice")];
const closed = [cartOpened("alice"), itemAdded("apple", 1, 100), cartClosed(100)];

describe("cart: OpenCart", () => {
  it("opens an empty cart, owned by the user who opened it", () => {
    given([]).when(openCart).then([cartOpened("alice")]);
    given([]).when(openCart, { user: "bob" }).then([cartOpened("bob")]);
    given([]).when(openCart, { user: "bob" }).thenState({ status: "open", owner: "bob", items: [] });
  });

  it("opens a cart only once", () => {
    given(opened).when(openCart).thenRejects("CartAlreadyOpened");
    given(closed).when(openCart).thenRejects("CartAlreadyOpened");
  });
});

describe("cart: AddItem", () => {
  it("adds a line to an open cart", () => {
    given(opened).when(addItem("apple", 2, 150)).then([itemAdded("apple", 2, 150)]);
    given(opened)
      .when(addItem("apple", 2, 150))
      .thenState({ status: "open", owner: "alice", items: [{ sku: "apple", quantity: 2, unitPrice: 150, currency: "EUR" }] });
  });

  it("merges the quantity of a sku already in the cart, at the latest price", () => {
    given([...opened, itemAdded("apple", 2, 150), itemAdded("pear", 1, 90)])
      .when(addItem("apple", 3, 120))
      .thenState({
        status: "open",
        owner: "alice",
        items: [
          { sku: "apple", quantity: 5, unitPrice: 120, currency: "EUR" },
          { sku: "pear", quantity: 1, unitPrice: 90, currency: "EUR" },
        ],
      });
  });

  it("refuses items from anyone but the cart's owner", () => {
    given(opened).when(addItem("apple", 1, 100), { user: "bob" }).thenRejects("Forbidden");
    given(opened).when(addItem("apple", 1, 100)).thenState({ status: "open", owner: "alice", items: [{ sku: "apple", quantity: 1, unitPrice: 100, currency: "EUR" }] });
  });

  it("refuses a 101st different item, but still takes more of one already in the cart", () => {
    const full = [...opened, ...Array.from({ length: 100 }, (_, i) => itemAdded(`sku-${i}`, 1, 10))];
    given(full).when(addItem("sku-100", 1, 10)).thenRejects("CartFull");
    given(full).when(addItem("sku-7", 2, 10)).then([itemAdded("sku-7", 2, 10)]);
  });

  it("refuses a line past 1,000,000 units, the most inventory reserves on one line", () => {
    given([...opened, itemAdded("apple", 999_999, 1)]).when(addItem("apple", 2, 1)).thenRejects("TooManyOfOneItem");
    given([...opened, itemAdded("apple", 999_999, 1)]).when(addItem("apple", 1, 1)).then([itemAdded("apple", 1, 1)]);
  });

  it("keeps the currency on the line, and one currency per cart: CurrencyMismatch", () => {
    given(opened).when(addItem("apple", 1, 100, "USD")).then([itemAdded("apple", 1, 100, "USD")]);
    given([...opened, itemAdded("apple", 1, 100, "USD")])
      .when(addItem("pear", 2, 90, "USD"))
      .thenState({
        status: "open",
        owner: "alice",
        items: [
          { sku: "apple", quantity: 1, unitPrice: 100, currency: "USD" },
          { sku: "pear", quantity: 2, unitPrice: 90, currency: "USD" },
        ],
      });
    given([...opened, itemAdded("apple", 1, 100, "USD")]).when(addItem("pear", 1, 90)).thenRejects("CurrencyMismatch");
    given([...opened, itemAdded("apple", 1, 100), itemRemoved("apple", 1)]).when(addItem("pear", 1, 90, "USD")).then([itemAdded("pear", 1, 90, "USD")]);
  });

  it("adds only while the cart is open", () => {
    given([]).when(addItem("apple", 1, 100)).thenRejects("CartNotOpened");
    given(closed).when(addItem("apple", 1, 100)).thenRejects("CartClosed");
  });
});

describe("cart: RemoveItem", () => {
  const holding = [...opened, itemAdded("apple", 3, 100), itemAdded("pear", 1, 90)];

  it("removes part of a line", () => {
    given(holding).when(removeItem("apple", 2)).then([itemRemoved("apple", 2)]);
    given(holding)
      .when(removeItem("apple", 2))
      .thenState({
        status: "open",
        owner: "alice",
        items: [
          { sku: "apple", quantity: 1, unitPrice: 100, currency: "EUR" },
          { sku: "pear", quantity: 1, unitPrice: 90, currency: "EUR" },
        ],
      });
  });

  it("removes the whole line when no quantity is given", () => {
    given(holding).when(removeItem("apple")).then([itemRemoved("apple", 3)]);
    given(holding)
      .when(removeItem("apple"))
      .thenState({ status: "open", owner: "alice", items: [{ sku: "pear", quantity: 1, unitPrice: 90, currency: "EUR" }] });
  });

  it("removes the whole line when the quantity is all of it", () => {
    given(holding)
      .when(removeItem("apple", 3))
      .thenState({ status: "open", owner: "alice", items: [{ sku: "pear", quantity: 1, unitPrice: 90, currency: "EUR" }] });
  });

  it("counts merged additions as one line", () => {
    given([...holding, itemAdded("apple", 2, 100)]).when(removeItem("apple", 5)).then([itemRemoved("apple", 5)]);
  });

  it("removes only an item that is in the cart", () => {
    given(holding).when(removeItem("plum", 1)).thenRejects("ItemNotInCart");
    given([...holding, itemRemoved("pear", 1)]).when(removeItem("pear")).thenRejects("ItemNotInCart");
  });

  it("removes no more than the cart holds", () => {
    given(holding).when(removeItem("apple", 4)).thenRejects("NotEnoughInCart");
    given([...holding, itemRemoved("apple", 1)]).when(removeItem("apple", 3)).thenRejects("NotEnoughInCart");
  });

  it("removes only while the cart is open", () => {
    given([]).when(removeItem("apple", 1)).thenRejects("CartNotOpened");
    given(closed).when(removeItem("apple", 1)).thenRejects("CartClosed");
  });
});

describe("cart: CloseCart", () => {
  it("records the total, in cents, of what the cart holds", () => {
    given([...opened, itemAdded("apple", 2, 150), itemAdded("pear", 1, 90), itemAdded("apple", 1, 120), itemRemoved("pear", 1)])
      .when(closeCart)
      .then([cartClosed(360)]);
    given(opened).when(closeCart).then([cartClosed(0)]);
  });

  it("keeps the lines, the owner and the total in the closed state", () => {
    given([...opened, itemAdded("apple", 2, 150)])
      .when(closeCart)
      .thenState({ status: "closed", owner: "alice", items: [{ sku: "apple", quantity: 2, unitPrice: 150, currency: "EUR" }], total: 300 });
  });

  it("closes only an open cart", () => {
    given([]).when(closeCart).thenRejects("CartNotOpened");
    given(closed).when(closeCart).thenRejects("CartClosed");
  });
});

describe("cart: ownership", () => {
  const holding = [...opened, itemAdded("apple", 2, 100)];

  it.each([
    ["AddItem", addItem("pear", 1, 90)],
    ["RemoveItem", removeItem("apple")],
    ["CloseCart", closeCart],
    ["Checkout", { type: "Checkout", data: {} } as CartCommand],
  ])("lets only the cart's owner %s: anyone else is Forbidden", (_, command) => {
    given(holding).when(command, { user: "bob" }).thenRejects("Forbidden");
    given(holding).when(command, { user: "bob", roles: ["admin"] }).thenRejects("Forbidden");
    given(holding).when(command).thenState(expect.objectContaining({ owner: "alice" }));
  });
});

describe("cart: Checkout", () => {
  const checkout = (warehouse?: string): CartCommand => ({ type: "Checkout", data: warehouse === undefined ? {} : { warehouse } });
  const confirm = (reservationId: string): CartCommand => ({ type: "ConfirmCheckout", data: { reservationId } });
  const fail = (reservationId: string, reason = "InsufficientStock"): CartCommand => ({ type: "FailCheckout", data: { reservationId, reason } });
  const started = (warehouse: string, total: number): CartEvent => ({ type: "CheckoutStarted", data: { reservationId: "cart:c-1", warehouse, total } });
  const confirmed = (total: number): CartEvent => ({ type: "CheckoutConfirmed", data: { reservationId: "cart:c-1", total } });
  const failed = (reason: string): CartEvent => ({ type: "CheckoutFailed", data: { reservationId: "cart:c-1", reason } });
  const service = { user: "service:checkout", roles: ["service"] };

  const holding = [...opened, itemAdded("apple", 2, 150), itemAdded("pear", 1, 90)];
  const lines = [
    { sku: "apple", quantity: 2, unitPrice: 150, currency: "EUR" },
    { sku: "pear", quantity: 1, unitPrice: 90, currency: "EUR" },
  ];
  const checkingOut = [...holding, started("main", 390)];

  it("starts the checkout and asks inventory to reserve the cart's lines, in the same decision", () => {
    given(holding)
      .when(checkout())
      .thenSends(
        [started("main", 390)],
        [
          {
            type: "inventory",
            command: "ReserveStock",
            aggregateId: "main",
            payload: {
              reservationId: "cart:c-1",
              lines: [
                { sku: "apple", quantity: 2 },
                { sku: "pear", quantity: 1 },
              ],
            },
          },
        ],
      );
    given(holding).when(checkout()).thenState({ status: "checking-out", owner: "alice", items: lines, reservationId: "cart:c-1", warehouse: "main" });
  });

  it("reserves from the warehouse the shopper names", () => {
    given(holding)
      .when(checkout("north-1"))
      .thenSends(
        [started("north-1", 390)],
        [
          {
            type: "inventory",
            command: "ReserveStock",
            aggregateId: "north-1",
            payload: { reservationId: "cart:c-1", lines: lines.map(({ sku, quantity }) => ({ sku, quantity })) },
          },
        ],
      );
  });

  it("refuses an empty cart: CartEmpty", () => {
    given(opened).when(checkout()).thenRejects("CartEmpty");
    given([...opened, itemAdded("apple", 1, 100), itemRemoved("apple", 1)]).when(checkout()).thenRejects("CartEmpty");
  });

  it("refuses more lines than one reservation holds: TooManyLines", () => {
    const many = (n: number) => [...opened, ...Array.from({ length: n }, (_, i) => itemAdded(`sku-${i}`, 1, 1))];

    given(many(101)).when(checkout()).thenRejects("TooManyLines");
    given(many(100)).when(checkout()).thenState(expect.objectContaining({ status: "checking-out" }));
  });

  it("checks out only an open cart", () => {
    given([]).when(checkout()).thenRejects("CartNotOpened");
    given(closed).when(checkout()).thenRejects("CartClosed");
  });

  it("freezes the cart while checking out: CheckoutInProgress", () => {
    for (const command of [addItem("apple", 1, 150), removeItem("apple"), closeCart, checkout()])
      given(checkingOut).when(command).thenRejects("CheckoutInProgress");
  });

  it("confirms the checkout and tells inventory to take the goods off the shelf", () => {
    given(checkingOut)
      .when(confirm("cart:c-1"), service)
      .thenSends([confirmed(390)], [{ type: "inventory", command: "CommitReservation", aggregateId: "main", payload: { reservationId: "cart:c-1" } }]);
    given(checkingOut).when(confirm("cart:c-1"), service).thenState({ status: "checked-out", owner: "alice", items: lines, total: 390 });
  });

  it("commits the reservation in the warehouse it was made in", () => {
    given([...holding, started("north-1", 390)])
      .when(confirm("cart:c-1"), service)
      .thenSends([confirmed(390)], [{ type: "inventory", command: "CommitReservation", aggregateId: "north-1", payload: { reservationId: "cart:c-1" } }]);
  });

  it("fails the checkout back to an open cart the shopper can change and check out again", () => {
    given(checkingOut).when(fail("cart:c-1"), service).then([failed("InsufficientStock")]);
    given(checkingOut).when(fail("cart:c-1"), service).thenState({ status: "open", owner: "alice", items: lines });
    given([...checkingOut, failed("InsufficientStock")]).when(addItem("plum", 1, 10)).then([itemAdded("plum", 1, 10)]);
    given([...checkingOut, failed("InsufficientStock")]).when(checkout()).thenSends([started("main", 390)], [expect.objectContaining({ command: "ReserveStock" })]);
  });

  it("answers only the reservation it waits for: NotCheckingOut", () => {
    given(checkingOut).when(confirm("cart:c-2"), service).thenRejects("NotCheckingOut");
    given(checkingOut).when(fail("cart:c-2"), service).thenRejects("NotCheckingOut");
    given(holding).when(confirm("cart:c-1"), service).thenRejects("NotCheckingOut");
    given(holding).when(fail("cart:c-1"), service).thenRejects("NotCheckingOut");
    given([...checkingOut, confirmed(390)]).when(confirm("cart:c-1"), service).thenRejects("NotCheckingOut");
    given([...checkingOut, failed("x")]).when(fail("cart:c-1"), service).thenRejects("NotCheckingOut");
  });

  it("keeps a checked-out cart as it is: CartCheckedOut", () => {
    const checkedOut = [...checkingOut, confirmed(390)];
    for (const command of [addItem("apple", 1, 150), removeItem("apple"), closeCart, checkout()])
      given(checkedOut).when(command).thenRejects("CartCheckedOut");
  });

  it("lets only services answer a checkout", () => {
    expect(cart.roles).toEqual({ ConfirmCheckout: ["service"], FailCheckout: ["service"] });
  });
});

describe("parseEnvelope", () => {
  const microservices: Record<string, AnyMicroservice> = { cart: cart as unknown as AnyMicroservice };
  const valid = {
    type: "cart",
    command: "AddItem",
    aggregateId: "c-42",
    id: "req-1",
    user: "alice",
    payload: { sku: "apple", quantity: 2, unitPrice: 150 },
  };

  const issuesOf = (body: unknown): readonly FieldIssue[] => {
    try {
      parseEnvelope(body, microservices);
    } catch (error) {
      expect(error).toBeInstanceOf(ValidationError);
      return (error as ValidationError).issues;
    }
    throw new Error("expected a ValidationError");
  };

  const without = (field: keyof typeof valid) => Object.fromEntries(Object.entries(valid).filter(([name]) => name !== field));

  it("accepts a valid command and returns it with its microservice", () => {
    const { envelope, microservice } = parseEnvelope({ ...valid, id: 17, timestamp: 1_700_000_000_000 }, microservices);

    expect(microservice.name).toBe("cart");
    // The payload as the schema gives it: AddItem's currency defaults to EUR.
    expect(envelope).toEqual({ ...valid, id: 17, timestamp: 1_700_000_000_000, roles: [], payload: { ...valid.payload, currency: "EUR" } });
  });

  it("defaults a missing payload to an empty object", () => {
    const { envelope } = parseEnvelope({ ...without("payload"), command: "OpenCart" }, microservices);

    expect(envelope.payload).toEqual({});
  });

  it.each([
    [null, "null"],
    [[valid], "an array"],
    ["cart", "string"],
    [42, "number"],
  ])("refuses a body that is not an object: %j", (body, kind) => {
    expect(issuesOf(body)).toEqual([{ field: "", rule: `the body must be a JSON object, not ${kind}` }]);
  });

  it.each(["type", "command", "aggregateId", "id", "user"] as const)("names a missing %s as required", (field) => {
    const rule = field === "aggregateId" ? "is required: cart keeps one stream per aggregate, so a command must name its aggregate" : "is required";
    expect(issuesOf(without(field))).toEqual([{ field, rule }]);
  });

  it.each([
    ["type", 1, "must be a string"],
    ["command", ["AddItem"], "must be a string"],
    ["user", 7, "must be a string"],
    ["aggregateId", 42, "must be a string"],
    ["id", true, "must be a string of 1-128 characters or a non-negative integer"],
    ["timestamp", "yesterday", "must be a number: milliseconds since the epoch"],
    ["timestamp", 1.5, "must be an integer"],
    ["payload", ["apple"], "must be a JSON object"],
  ])("names %s when it has the wrong type (%j)", (field, value, rule) => {
    expect(issuesOf({ ...valid, [field]: value })).toEqual([{ field, rule }]);
  });

  it.each([
    ["timestamp", -1, "must not be negative"],
    ["user", "", "must be a non-empty string"],
    ["user", "x".repeat(129), "must be at most 128 characters"],
    ["type", "", "must be a non-empty string"],
    ["command", "", "must be a non-empty string"],
  ])("names %s when it is out of range (%j)", (field, value, rule) => {
    expect(issuesOf({ ...valid, [field]: value })).toEqual([{ field, rule }]);
  });

  it.each([-1, "", "x".repeat(129)])("names id when it is out of range (%j)", (id) => {
    expect(issuesOf({ ...valid, id })).toEqual([{ field: "id", rule: expect.stringMatching(/\S/) }]);
  });

  it.each(["", "c 42", "cart:c-42", "c/42", "x".repeat(129)])("refuses the aggregate id %j", (aggregateId) => {
    expect(issuesOf({ ...valid, aggregateId })).toEqual([
      { field: "aggregateId", rule: "must be 1-128 characters of letters, digits, '.', '_' or '-'" },
    ]);
  });

  it("names every bad field of the envelope at once, and a missing user once the envelope is valid", () => {
    // The user is checked after the schema: with an authorizer's caller, the body must not carry one.
    const fields = issuesOf({ type: "cart", command: 3, id: "req-1" }).map((issue) => issue.field);

    expect(fields.sort()).toEqual(["aggregateId", "command"]);
    expect(issuesOf({ type: "cart", command: "OpenCart", aggregateId: "c-1", id: "req-1" })).toEqual([{ field: "user", rule: "is required" }]);
  });

  it("refuses an unknown microservice, listing the known ones", () => {
    expect(issuesOf({ ...valid, type: "order" })).toEqual([{ field: "type", rule: "unknown microservice 'order'; known: cart" }]);
  });

  it("refuses an unknown command, listing the microservice's commands", () => {
    expect(issuesOf({ ...valid, command: "Teleport" })).toEqual([
      {
        field: "command",
        rule: "unknown command 'Teleport' for cart; known: OpenCart, AddItem, RemoveItem, CloseCart, Checkout, ConfirmCheckout, FailCheckout",
      },
    ]);
  });

  it.each([
    [{ sku: "apple", quantity: 0, unitPrice: 150 }, "payload.quantity"],
    [{ sku: "apple", quantity: 2.5, unitPrice: 150 }, "payload.quantity"],
    [{ sku: "apple", quantity: "2", unitPrice: 150 }, "payload.quantity"],
    [{ sku: "", quantity: 2, unitPrice: 150 }, "payload.sku"],
    [{ quantity: 2, unitPrice: 150 }, "payload.sku"],
    [{ sku: "apple", quantity: 2, unitPrice: -1 }, "payload.unitPrice"],
    [{ sku: "apple", quantity: 2, unitPrice: 150, currency: "eur" }, "payload.currency"],
    [{ sku: "apple", quantity: 2, unitPrice: 150, currency: "EURO" }, "payload.currency"],
    [{ sku: "apple", quantity: 2, unitPrice: 150, currency: null }, "payload.currency"],
  ])("names the payload field that breaks the command's schema: %j", (payload, field) => {
    const issues = issuesOf({ ...valid, payload });

    expect(issues).toHaveLength(1);
    expect(issues[0]).toEqual({ field, rule: expect.stringMatching(/\S/) });
  });

  it("refuses unknown fields, in the envelope and in the payload", () => {
    expect(issuesOf({ ...valid, color: "red" })).toEqual([{ field: "color", rule: "is not a known field" }]);
    expect(issuesOf({ ...valid, payload: { ...valid.payload, color: "red" } })).toEqual([
      { field: "payload.color", rule: "is not a known field" },
    ]);
  });

  it("puts field and rule in the error message", () => {
    expect(() => parseEnvelope(without("user"), microservices)).toThrow("user: is required");
  });
});
