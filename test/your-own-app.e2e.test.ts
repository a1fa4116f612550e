// A fourth microservice (todo, with a projection and a view) and a
// single-aggregate one (noticeboard), defined only in test fixtures and
// registered through an app definition built in the test, run end to end on
// the local stack over HTTP: commands, outcomes, events, the view, the read
// model, and a replay of the read model from the archive. No engine file names them.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { expandApp } from "../core/app-definition.js";
import { listArchive, readArchiveObject } from "../core/fanout/archiver.js";
import { startStack, type LocalStack } from "../local/stack.js";
import { appWithTodo } from "./fixtures/app.js";
import { apiAt, type Json } from "./support/api.js";
import { stopLocalStack } from "./support/local-stack.js";
import { eventually } from "./support/wait.js";

let stack: LocalStack;
const api = apiAt(() => stack.url);
const todo = (command: string, aggregateId: string, id: string | number, payload?: Record<string, unknown>, user = "ann") => ({
  type: "todo",
  command,
  aggregateId,
  id,
  user,
  ...(payload ? { payload } : {}),
});

beforeAll(async () => {
  stack = await startStack({ app: expandApp(appWithTodo), port: 0 });
}, 120_000);

afterAll(async () => {
  if (stack) await stopLocalStack(stack);
});

describe("an app of your own, defined outside the engine", () => {
  it("takes the todo microservice's commands, with outcomes and events, and serves its view now and at a version", { timeout: 60_000 }, async () => {
    // Act
    const created = await api.send(todo("CreateList", "l-1", 1, { title: "Groceries" }), 5);
    const added = [await api.send(todo("AddTask", "l-1", 2, { taskId: "milk", text: "Milk" }), 5), await api.send(todo("AddTask", "l-1", 3, { taskId: "eggs", text: "Eggs" }), 5)];
    const completed = await api.send(todo("CompleteTask", "l-1", 4, { taskId: "milk" }), 5);
    const unknownTask = await api.send(todo("RemoveTask", "l-1", 5, { taskId: "bread" }), 5);
    const notOwner = await api.send(todo("AddTask", "l-1", 6, { taskId: "jam", text: "Jam" }, "bob"), 5);
    const badPayload = await api.send(todo("AddTask", "l-1", 7, { taskId: "Not Valid", text: "x" }), 5);

    // Assess
    expect(created.status, JSON.stringify(created.body)).toBe(200);
    expect(created.body).toMatchObject({ status: "accepted", key: "todo:l-1", seq: 1, events: [{ version: 1, type: "ListCreated", data: { title: "Groceries", owner: "ann" } }] });
    expect(added.map((a) => a.body.status)).toEqual(["accepted", "accepted"]);
    expect(completed.body).toMatchObject({ status: "accepted", events: [{ version: 4, type: "TaskCompleted" }] });
    expect(unknownTask).toMatchObject({ status: 409, body: { status: "rejected", reason: "NoTask" } });
    expect(notOwner).toMatchObject({ status: 409, body: { status: "rejected", reason: "Forbidden" } });
    expect(badPayload.status).toBe(400);
    expect(badPayload.body.issues).toEqual([{ field: "payload.taskId", rule: "must be 1-32 lowercase letters, digits or '-'" }]);

    const outcome = await api.get("/commands/todo%3Al-1/4");
    expect(outcome.body).toMatchObject({ status: "accepted", key: "todo:l-1", seq: 4 });
    const events = await api.allEvents("todo:l-1");
    expect(events.map((e: Json) => [e.version, e.type])).toEqual([[1, "ListCreated"], [2, "TaskAdded"], [3, "TaskAdded"], [4, "TaskCompleted"]]);

    const view = await api.get("/todos/l-1");
    expect(view).toMatchObject({ status: 200, body: { listId: "l-1", title: "Groceries", owner: "ann", version: 4 } });
    expect(view.body.tasks).toEqual([{ taskId: "milk", text: "Milk", done: true }, { taskId: "eggs", text: "Eggs", done: false }]);
    expect((await api.get("/todos/l-1?version=2")).body).toMatchObject({ version: 2, tasks: [{ taskId: "milk", done: false }] });
    expect(await api.get("/todos/l-9")).toMatchObject({ status: 404, body: { message: "no list 'l-9'" } });
    expect((await api.get("/streams/todo%3Al-1/state")).body).toMatchObject({ streamId: "todo:l-1", version: 4 });
  });

  it("builds the todo projection's read model live, served by the route the projection declares", { timeout: 60_000 }, async () => {
    const progress = await eventually("the open-tasks read model", async () => {
      const answer = await api.get("/todo-lists/l-1/progress");
      expect(answer.body).toMatchObject({ open: ["eggs"], done: ["milk"] });
      return answer;
    });
    expect(progress).toMatchObject({ status: 200, body: { listId: "l-1", title: "Groceries", openCount: 1, doneCount: 1 } });
    expect(await api.get("/todo-lists/l-404/progress")).toMatchObject({ status: 404 });
  });

  it("rebuilds the todo projection from the archive into an identical read model", { timeout: 90_000 }, async () => {
    // Prepare: every todo event is in the archive (the archiver batches for up to 5 s).
    const before = (await api.get("/todo-lists/l-1/progress")).body;
    await eventually("the list's four events archived", async () => expect(await archivedOf("todo:l-1")).toEqual([1, 2, 3, 4]), { timeoutMs: 60_000 });

    // Act
    const ended = await replayAll({ handler: "open-tasks", reset: true });

    // Assess
    expect(ended).toMatchObject({ handler: "open-tasks", state: "done", generation: 2, eventsSent: 4 });
    const rebuilt = await eventually("the read model rebuilt", async () => {
      const answer = await api.get("/todo-lists/l-1/progress");
      expect(answer.status).toBe(200);
      expect(answer.body).toEqual(before);
      return answer.body;
    });
    expect(rebuilt).toEqual(before);
  });

  it("takes a command without aggregateId for a single-aggregate microservice, and says why one is needed elsewhere", { timeout: 60_000 }, async () => {
    // The command-table design's own request: no aggregateId, no payload.
    const posted = await api.send({ type: "noticeboard", command: "Post", id: 17, timestamp: 11178, user: "u-1" }, 5);
    expect(posted.status, JSON.stringify(posted.body)).toBe(200);
    expect(posted.body).toMatchObject({ status: "accepted", key: "noticeboard", seq: 1, events: [{ type: "NoticePosted", data: { text: "(no text)", by: "u-1" } }] });
    expect((await api.get("/noticeboard/board")).body).toMatchObject({ notices: [{ text: "(no text)", by: "u-1" }], version: 1 });

    const elsewhere = await api.send({ type: "noticeboard", command: "Post", aggregateId: "other", id: 18, user: "u-1" });
    expect(elsewhere.status).toBe(400);
    expect(elsewhere.body.issues).toEqual([{ field: "aggregateId", rule: "must be 'board' or left out: noticeboard keeps its whole state in the one aggregate 'board'" }]);
    const forTodo = await api.send({ type: "todo", command: "CreateList", id: 19, user: "u-1", payload: { title: "x" } });
    expect(forTodo.status).toBe(400);
    expect(forTodo.body.issues).toEqual([{ field: "aggregateId", rule: "is required: todo keeps one stream per aggregate, so a command must name its aggregate" }]);
  });
});

/** A replay job from its start to its end, as `npm run replay` follows it: its last status. */
const replayAll = async (request: Record<string, unknown>) => {
  const started = await api.post("/admin/replays", request);
  expect(started.status, JSON.stringify(started.body)).toBe(202);
  return eventually("the replay ended", async () => {
    const status = (await api.get(started.body.statusUrl)).body;
    expect(status.state).not.toBe("running");
    return status;
  }, { everyMs: 100 });
};

/** The versions of a stream the archive holds, in archive order. */
const archivedOf = async (streamId: string): Promise<number[]> => {
  const { s3, names } = stack.deps;
  const versions: number[] = [];
  for (let page = await listArchive(s3, names.archiveBucket); ; page = await listArchive(s3, names.archiveBucket, { startAfter: page.next })) {
    for (const key of page.keys) for (const event of await readArchiveObject(s3, names.archiveBucket, key)) if (event.streamId === streamId) versions.push(event.version);
    if (!page.next) return versions;
  }
};
