// The same template checks as the reference app's, on an app a test defines:
// a fourth microservice with a projection, a view and a projection route, and
// a single-aggregate microservice. Their consumers, queues, routes and
// least-privilege grants come from the app definition alone.
import { describe, expect, it } from "vitest";
import { expandApp } from "../core/app-definition.js";
import { ordinalStack } from "../stacks/Ordinal.js";
import { functionDefaults } from "../stacks/index.js";
import { appWithTodo } from "./fixtures/app.js";
import { describeStackTemplate } from "./support/stack-template.js";

const expanded = expandApp(appWithTodo);

describeStackTemplate({
  app: expanded,
  build: (app) => {
    app.setDefaultFunctionProps(functionDefaults);
    const stack = ordinalStack(expanded);
    app.stack(stack, { id: "Ordinal" });
    return stack;
  },
});

describe("what the app definition added to the topology the template was checked against", () => {
  const { topology } = expanded;

  it("gives the todo projection its live consumer, replay queue, dead-letter queue and failure destination", () => {
    expect(topology.kinesisConsumers["open-tasks"]).toMatchObject({
      handler: "functions/projector.live",
      environment: { ORDINAL_PROJECTION: "open-tasks" },
      failureDestination: "open-tasks-failures",
      tables: { projections: "readwrite", events: "read" },
    });
    expect(topology.queueConsumers["open-tasks-replay"]).toMatchObject({ handler: "functions/projector.replay", source: "open-tasks-replay" });
    expect(topology.queues["open-tasks-replay"]).toMatchObject({ name: "open-tasks-replay.fifo", fifo: true, deadLetter: { queue: "open-tasks-replay-dlq" } });
    expect(topology.queues["open-tasks-replay-dlq"]).toMatchObject({ name: "open-tasks-replay-dlq.fifo" });
    expect(topology.queues["open-tasks-failures"]).toMatchObject({ name: "open-tasks-failures" });
  });

  it("serves the todo view and the projection's route, each with only the reads it needs", () => {
    const route = (key: string) => topology.routes.find((r) => `${r.method} ${r.path}` === key);
    expect(route("GET /todos/{listId}")).toMatchObject({ handler: "functions/view.handler", environment: { ORDINAL_MICROSERVICE: "todo" }, tables: { snapshots: "read", events: "read" } });
    expect(route("GET /todo-lists/{listId}/progress")).toMatchObject({ handler: "functions/query.handler", tables: { projections: "read" } });
    expect(route("GET /noticeboard/{board}")).toMatchObject({ environment: { ORDINAL_MICROSERVICE: "noticeboard" } });
  });

  it("lets the replay jobs' runner feed the new replay queue and watch its dead letters, and redrive take its dead letters and failures", () => {
    const route = (key: string) => topology.routes.find((r) => `${r.method} ${r.path}` === key)!;
    expect(topology.queueConsumers.replays!.uses?.queues).toMatchObject({ "open-tasks-replay": "feed", "open-tasks-replay-dlq": "count" });
    expect(route("POST /admin/redrive").uses?.queues).toMatchObject({ "open-tasks-replay-dlq": "consume", "open-tasks-failures": "consume", "open-tasks-replay": "send" });
    expect(topology.projections).toContain("open-tasks");
  });
});
