// A hook on every call an AWS SDK client makes: the local stack writes the
// archive and the queues to disk after their calls, and tests inject faults.
export interface Call {
  /** The SDK command's name, e.g. `TransactWriteItemsCommand`, `PutObjectCommand`. */
  readonly name: string;
  /** Its input as the caller wrote it (document-client form for a document client). */
  readonly input: Record<string, any>;
}

type Hook = (call: Call) => void | Promise<void>;

interface HasMiddleware {
  readonly middlewareStack: { add(middleware: any, options: { step: "initialize"; name: string }): void };
}

/** Runs `before` ahead of each call of `client`, and `after` once it succeeded; throwing fails the call there. */
export const aroundCalls = (client: HasMiddleware, name: string, { before, after }: { before?: Hook; after?: Hook }) =>
  client.middlewareStack.add(
    (next: (args: { input: Record<string, any> }) => Promise<unknown>, context: { commandName?: string }) =>
      async (args: { input: Record<string, any> }) => {
        const call = { name: context.commandName ?? "", input: args.input };
        await before?.(call);
        const result = await next(args);
        await after?.(call);
        return result;
      },
    { step: "initialize", name },
  );
