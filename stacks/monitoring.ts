// Alarms and a dashboard, derived from the expanded topology: a projection or
// a process manager an app adds gets its alarms without an edit here.
import { Duration, RemovalPolicy } from "aws-cdk-lib";
import {
  Alarm,
  ComparisonOperator,
  Dashboard,
  GraphWidget,
  MathExpression,
  type Metric,
  TreatMissingData,
  type IMetric,
} from "aws-cdk-lib/aws-cloudwatch";
import { SnsAction } from "aws-cdk-lib/aws-cloudwatch-actions";
import { ServicePrincipal } from "aws-cdk-lib/aws-iam";
import { Key } from "aws-cdk-lib/aws-kms";
import { Topic as CdkTopic } from "aws-cdk-lib/aws-sns";
import { EmailSubscription } from "aws-cdk-lib/aws-sns-subscriptions";
import type { Api, Function as Fn, Stack } from "sst/constructs";
import { routeKeyOf } from "../core/routing.js";
import type { Topology } from "../core/topology.js";
import type { Resources } from "./permissions.js";
import type { DeploySettings } from "./settings.js";

/**
 * Iterator age that pages someone. DynamoDB streams keep records 24 hours and
 * the all-events stream 7 days: an hour behind leaves 23 hours (or six days)
 * to act before a record is lost, and no healthy consumer is ever that far behind.
 */
export const ITERATOR_AGE_ALARM_MS = 60 * 60 * 1000;
/** API 5xx answers, as a percentage of requests in five minutes (with at least MIN_REQUESTS of them). */
export const API_5XX_PERCENT = 1;
const MIN_REQUESTS = 20;
const PERIOD = Duration.minutes(5);

export interface MonitoringInput {
  readonly topology: Topology;
  readonly resources: Resources;
  readonly api: Api;
  readonly settings: DeploySettings;
  /** Functions outside the API and the consumers (the on-deploy script's), by label. */
  readonly others?: readonly (readonly [string, Fn])[];
}

export function createMonitoring(stack: Stack, { topology, resources, api, settings, others = [] }: MonitoringInput) {
  // Encrypted with a key of its own: SNS's AWS-managed key does not let CloudWatch publish an alarm.
  const alarmKey = new Key(stack, "alarms-key", { enableKeyRotation: true, description: "Ordinal alarm topic", removalPolicy: RemovalPolicy.DESTROY });
  alarmKey.grant(new ServicePrincipal("cloudwatch.amazonaws.com"), "kms:Decrypt", "kms:GenerateDataKey*");
  // Subscribe on-call by ORDINAL_ALARM_EMAIL.
  const alarmTopic = new CdkTopic(stack, "alarms", { masterKey: alarmKey, enforceSSL: true });
  if (settings.alarmEmail) alarmTopic.addSubscription(new EmailSubscription(settings.alarmEmail));
  const action = new SnsAction(alarmTopic);
  const alarms: Alarm[] = [];
  const alarm = (id: string, metric: IMetric, threshold: number, description: string) => {
    const made = new Alarm(stack, `alarm-${id}`, {
      metric,
      threshold,
      evaluationPeriods: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      // No data is no traffic, not a failure.
      treatMissingData: TreatMissingData.NOT_BREACHING,
      alarmDescription: description,
    });
    made.addAlarmAction(action);
    made.applyRemovalPolicy(RemovalPolicy.DESTROY);
    alarms.push(made);
    return made;
  };

  // Every function, by a label that names what it runs.
  const functions: [string, Fn][] = [];
  const add = (label: string, fn: Fn | undefined) => {
    if (!fn) throw new Error(`no function for ${label}`);
    functions.push([label, fn]);
    return fn;
  };
  for (const route of topology.routes) add(routeKeyOf(route), api.getFunction(routeKeyOf(route)));
  add("$default", api.getFunction("$default"));
  const iteratorAges: [string, Metric][] = [];
  const consumers = [
    ...Object.entries(topology.streamConsumers).map(([name, c]) => [name, resources.tables[c.source].getFunction(name)] as const),
    ...Object.entries(topology.kinesisConsumers).map(([name, c]) => [name, resources.streams[c.source].getFunction(name)] as const),
  ];
  for (const [name, fn] of consumers) {
    const age = add(name, fn).metric("IteratorAge", { statistic: "Maximum", period: PERIOD });
    iteratorAges.push([name, age]);
    alarm(`${name}-iterator-age`, age, ITERATOR_AGE_ALARM_MS, `${name} is an hour or more behind its stream; records expire after the stream's retention`);
  }
  for (const [name, c] of Object.entries(topology.queueConsumers)) add(name, resources.queues[c.source]?.consumerFunction as Fn | undefined);
  for (const [label, fn] of others) add(label, fn);

  for (const [label, fn] of functions) {
    const id = label.replace(/[^A-Za-z0-9]+/g, "-").replace(/^-|-$/g, "") || "default";
    alarm(`${id}-errors`, fn.metricErrors({ period: PERIOD, statistic: "Sum" }), 1, `${label} failed an invocation`);
    alarm(`${id}-throttles`, fn.metricThrottles({ period: PERIOD, statistic: "Sum" }), 1, `${label} was throttled`);
  }

  // Whatever holds parked failures or dead letters: one message is one too many.
  const parkedNames = Object.entries(topology.queues).flatMap(([name, q]) => (q.parks ? [name] : [])).sort();
  const parked: [string, Metric][] = parkedNames.map((name) => [
    name,
    resources.queues[name]!.cdk.queue.metricApproximateNumberOfMessagesVisible({ period: PERIOD, statistic: "Maximum" }),
  ]);
  for (const [name, metric] of parked) alarm(`${name}-visible`, metric, 1, `${name} holds a parked batch or dead letter: see POST /admin/redrive`);

  const httpApi = api.cdk.httpApi;
  const api5xx = new MathExpression({
    expression: `IF(requests >= ${MIN_REQUESTS}, 100 * errors / requests, 0)`,
    usingMetrics: { errors: httpApi.metricServerError({ period: PERIOD, statistic: "Sum" }), requests: httpApi.metricCount({ period: PERIOD, statistic: "Sum" }) },
    period: PERIOD,
    label: "API 5xx %",
  });
  alarm("api-5xx-rate", api5xx, API_5XX_PERCENT, `${API_5XX_PERCENT}% or more of the API's answers were 5xx`);
  for (const [name, stream] of Object.entries(resources.streams))
    alarm(
      `${name}-write-throttled`,
      stream.cdk.stream.metricWriteProvisionedThroughputExceeded({ period: PERIOD, statistic: "Sum" }),
      1,
      `Kinesis refused writes to ${name}: add shards`,
    );

  const commandRoutes = topology.routes.filter((r) => r.handler === "functions/command.handler").map(routeKeyOf);
  const sequencer = functions.find(([label]) => label === "sequencer")?.[1];
  const dashboard = new Dashboard(stack, "dashboard", {
    widgets: [
      [
        new GraphWidget({
          title: "Commands in (per 5 min)",
          left: commandRoutes.map((key) => api.getFunction(key)!.metricInvocations({ period: PERIOD, statistic: "Sum", label: key })),
        }),
        new GraphWidget({
          title: "Outcomes by status",
          left: ["accepted", "rejected", "duplicate"].map((status) => outcomeMetric(status)),
        }),
        new GraphWidget({
          title: "Sequencer batch duration (ms)",
          left: sequencer ? [sequencer.metricDuration({ period: PERIOD, statistic: "p50" }), sequencer.metricDuration({ period: PERIOD, statistic: "Maximum" })] : [],
        }),
      ],
      [
        new GraphWidget({ title: "Iterator age: how far each consumer is behind (ms)", left: iteratorAges.map(([name, m]) => m.with({ label: name })), width: 12 }),
        new GraphWidget({ title: "Parked batches and dead letters", left: parked.map(([name, m]) => m.with({ label: name })), width: 12 }),
      ],
      [
        new GraphWidget({
          title: "Fan-out lag: newest event to projection (ms)",
          left: [new MathExpression({ expression: `SEARCH('{Ordinal,projection,service} MetricName="ProjectionLag"', 'Maximum', 300)`, label: "projection lag", period: PERIOD })],
          width: 24,
        }),
      ],
    ],
  });
  return { alarmTopic, alarms, dashboard };
}

/** The sequencer's EMF metric of outcomes written, by microservice and status (functions/sequencer.ts). */
export const outcomeMetric = (status: string) =>
  new MathExpression({
    expression: `SEARCH('{Ordinal,microservice,service,status} MetricName="Outcomes" status="${status}"', 'Sum', 300)`,
    label: status,
    period: PERIOD,
  });

