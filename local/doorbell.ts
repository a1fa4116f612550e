// What Lambda's event source mappings get for free on AWS, polling at scale,
// the local stack gets by being one process: whoever writes a stream's source
// rings its doorbell, and the poller sleeping on it wakes at once. A poller
// that hears nothing backs off far (little CPU when idle); one that rings is
// read within a poll, not within a backoff.

export interface Doorbell {
  /** Wakes every sleeper now; a sleeper that was busy when it rang does not go to sleep on its next wait. */
  ring(): void;
  /** How many times it has rung: a waiter passes the count it saw before its read. */
  readonly rings: number;
  /** Sleeps up to `ms`, less if it rings (or rang since `seen`); true if it rang. */
  wait(ms: number, seen: number): Promise<boolean>;
}

export const doorbell = (): Doorbell => {
  let rings = 0;
  const sleepers = new Set<() => void>();
  return {
    ring() {
      rings++;
      for (const wake of [...sleepers]) wake();
    },
    get rings() {
      return rings;
    },
    wait(ms, seen) {
      if (rings !== seen) return Promise.resolve(true);
      return new Promise((resolve) => {
        const wake = () => {
          clearTimeout(timer);
          sleepers.delete(wake);
          resolve(rings !== seen);
        };
        const timer = setTimeout(wake, ms);
        sleepers.add(wake);
      });
    },
  };
};

const WRITES = new Set(["PutCommand", "UpdateCommand", "DeleteCommand", "TransactWriteCommand", "BatchWriteCommand", "PutItemCommand", "UpdateItemCommand", "DeleteItemCommand", "TransactWriteItemsCommand", "BatchWriteItemCommand"]);

/** The tables a DynamoDB call (document-client or plain) writes; none for a read. */
export const tablesWritten = (call: { readonly name: string; readonly input: Record<string, any> }): string[] => {
  if (!WRITES.has(call.name)) return [];
  if (call.input.TableName) return [call.input.TableName];
  if (call.input.RequestItems) return Object.keys(call.input.RequestItems);
  const items: Record<string, { TableName?: string } | undefined>[] = call.input.TransactItems ?? [];
  return [...new Set(items.flatMap((item) => [item.Put, item.Update, item.Delete].flatMap((op) => (op?.TableName ? [op.TableName] : []))))];
};
