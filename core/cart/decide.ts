import { z } from "zod";
import { reject, type CommandOf, type DecideContext, type Decision } from "../decider.js";
import { totalOf, type CartEvent, type CartState } from "./state.js";

const sku = z.string().min(1).max(64);
const quantity = z.number().int().positive();

export const commands = {
  OpenCart: z.strictObject({}),
  AddItem: z.strictObject({ sku, quantity, unitPrice: z.number().int().nonnegative() }),
  RemoveItem: z.strictObject({ sku, quantity: quantity.optional() }),
  CloseCart: z.strictObject({}),
};

export type CartCommand = CommandOf<typeof commands>;

const notOpen = (state: CartState) =>
  state.status === "empty"
    ? reject("CartNotOpened", "the cart has not been opened")
    : reject("CartClosed", "the cart is closed");

export const decide = (command: CartCommand, state: CartState, context: DecideContext): Decision<CartEvent> => {
  switch (command.type) {
    case "OpenCart":
      if (state.status !== "empty") return reject("CartAlreadyOpened", `cart ${context.aggregateId} is already opened`);
      return [{ type: "CartOpened", data: { owner: context.user } }];
    case "AddItem":
      if (state.status !== "open") return notOpen(state);
      return [{ type: "ItemAdded", data: command.data }];
    case "RemoveItem": {
      if (state.status !== "open") return notOpen(state);
      const line = state.items.find((item) => item.sku === command.data.sku);
      if (!line) return reject("ItemNotInCart", `${command.data.sku} is not in the cart`);
      const removing = command.data.quantity ?? line.quantity;
      if (removing > line.quantity)
        return reject("NotEnoughInCart", `cannot remove ${removing} of ${command.data.sku}: the cart holds ${line.quantity}`);
      return [{ type: "ItemRemoved", data: { sku: line.sku, quantity: removing } }];
    }
    case "CloseCart":
      if (state.status !== "open") return notOpen(state);
      return [{ type: "CartClosed", data: { total: totalOf(state.items) } }];
    default: {
      const _exhaustive: never = command;
      return _exhaustive;
    }
  }
};
