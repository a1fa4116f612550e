// Deploy-time settings: their defaults, the synth stopping on a bad value with
// the variable's name, and a stack synthesized with non-default ones.
import { Template } from "aws-cdk-lib/assertions";
import { App, getStack } from "sst/constructs";
import { initProject, useProject } from "sst/project.js";
import { beforeAll, describe, expect, it } from "vitest";
import { ordinalStack } from "../stacks/Ordinal.js";
import { functionDefaults } from "../stacks/index.js";
import { DEFAULT_SETTINGS, deploySettingsFromEnv } from "../stacks/settings.js";
import { referenceApp } from "./support/app.js";

describe("deploy settings", () => {
  it("default to no CORS, no alarm email, a month of logs and the documented limits", () => {
    expect(deploySettingsFromEnv({})).toEqual({ ...DEFAULT_SETTINGS, corsOrigins: [], logRetention: 30, logRetentionName: "one_month" });
  });

  it.each([
    [{ ORDINAL_API_RATE: "0" }, "ORDINAL_API_RATE=0: must be an integer from 1 to 10000"],
    [{ ORDINAL_API_RATE: "500", ORDINAL_API_BURST: "100" }, "ORDINAL_API_BURST=100: must be at least the rate (500)"],
    [{ ORDINAL_CORS_ORIGINS: "*" }, "ORDINAL_CORS_ORIGINS=*: each origin must be https://host[:port]"],
    [{ ORDINAL_CORS_ORIGINS: "http://shop.example.com" }, "ORDINAL_CORS_ORIGINS=http://shop.example.com"],
    [{ ORDINAL_LOG_RETENTION: "infinite" }, "ORDINAL_LOG_RETENTION=infinite: must be one of"],
    [{ ORDINAL_ALARM_EMAIL: "ops" }, "ORDINAL_ALARM_EMAIL=ops: must be an email address"],
    [{ ORDINAL_STREAM_CONSUMER_CONCURRENCY: "1.5" }, "ORDINAL_STREAM_CONSUMER_CONCURRENCY=1.5"],
  ])("refuses %j, naming the variable and the rule", (env, message) => {
    expect(() => deploySettingsFromEnv(env)).toThrow(message);
  });
});

describe("a stack with its own settings", () => {
  let template: Template;

  beforeAll(async () => {
    process.env.AWS_REGION ??= "us-east-1";
    await initProject({ stage: "settings" });
    const { name, stage, region } = useProject().config;
    const app = new App({ mode: "deploy", name, stage, region });
    app.setDefaultFunctionProps(functionDefaults);
    const settings = deploySettingsFromEnv({
      ORDINAL_CORS_ORIGINS: "https://shop.example.com, http://localhost:5173",
      ORDINAL_ALARM_EMAIL: "oncall@example.com",
      ORDINAL_API_RATE: "50",
      ORDINAL_API_BURST: "75",
      ORDINAL_LOG_RETENTION: "one_week",
      ORDINAL_STREAM_CONSUMER_CONCURRENCY: "3",
    });
    const stack = ordinalStack(referenceApp, settings);
    app.stack(stack, { id: "Ordinal" });
    template = Template.fromStack(getStack(stack));
  });

  it("allows exactly the listed origins, methods and headers", () => {
    template.hasResourceProperties("AWS::ApiGatewayV2::Api", {
      CorsConfiguration: {
        AllowOrigins: ["https://shop.example.com", "http://localhost:5173"],
        AllowMethods: ["GET", "POST", "DELETE"],
        AllowHeaders: ["authorization", "content-type"],
      },
    });
  });

  it("subscribes the alarm email, throttles and keeps logs as told", () => {
    template.hasResourceProperties("AWS::SNS::Subscription", { Protocol: "email", Endpoint: "oncall@example.com" });
    template.hasResourceProperties("AWS::ApiGatewayV2::Stage", { DefaultRouteSettings: { ThrottlingRateLimit: 50, ThrottlingBurstLimit: 75 } });
    for (const group of Object.values(template.findResources("AWS::Logs::LogGroup"))) expect(group.Properties.RetentionInDays).toBe(7);
    expect(Object.values(template.findResources("AWS::Lambda::Function")).filter((f) => f.Properties.ReservedConcurrentExecutions === 3)).toHaveLength(2);
  });
});
