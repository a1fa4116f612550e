// npm run -s token -- --sub <user> [--roles admin,service] [--secret <s>] [--audience <a>] [--issuer <i>] [--expires 1h]
// Prints a JWT the local stack started with --auth accepts, for curl:
//   curl -H "Authorization: Bearer $(npm run -s token -- --sub u-1)" ...
import { parseArgs } from "node:util";
import { jwtConfigFromEnv } from "../../core/auth.js";
import { mintToken } from "../jwt.js";

const usage =
  "usage: npm run -s token -- --sub <user> [--roles <role,role>] [--secret <secret>] [--audience <aud>] [--issuer <iss>] [--expires <1h|30m|2d>]\n" +
  "  --secret defaults to $ORDINAL_JWT_SECRET, --audience to $ORDINAL_JWT_AUDIENCE or 'ordinal', --issuer to $ORDINAL_JWT_ISSUER (none when unset)";

const main = async () => {
  const env = jwtConfigFromEnv();
  const { values } = parseArgs({
    options: {
      sub: { type: "string" },
      roles: { type: "string", default: "" },
      secret: { type: "string", default: process.env.ORDINAL_JWT_SECRET },
      audience: { type: "string", default: env.audience },
      issuer: { type: "string", default: env.issuer },
      expires: { type: "string", default: "1h" },
      help: { type: "boolean", default: false },
    },
    strict: true,
  });
  if (values.help) return void console.log(usage);
  if (!values.sub) throw new Error(`--sub is required\n${usage}`);
  if (!values.secret) throw new Error(`no secret: pass --secret or set ORDINAL_JWT_SECRET (npm start -- --auth prints the one it made up)\n${usage}`);
  const roles = values.roles.split(",").map((role) => role.trim()).filter(Boolean);
  console.log(
    await mintToken(
      { secret: values.secret, audience: values.audience, ...(values.issuer ? { issuer: values.issuer } : {}) },
      { sub: values.sub, roles, expiresIn: values.expires },
    ),
  );
};

main().catch((error: Error) => {
  console.error(`token: ${error.message}`);
  process.exitCode = 1;
});
