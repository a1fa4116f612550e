// fauxqs (SQS, SNS and S3 on one port) in this process; its state lives in memory only.
import { startFauxqs as start, type FauxqsServer } from "fauxqs";

export interface LocalFauxqs {
  readonly endpoint: string;
  readonly server: FauxqsServer;
  stop(): Promise<void>;
}

/** Client settings for SQS and SNS; S3 also needs `forcePathStyle` (see `s3ClientConfig`). */
export const fauxqsClientConfig = (endpoint: string) => ({
  endpoint,
  region: "us-east-1",
  credentials: { accessKeyId: "000000000000", secretAccessKey: "x" },
});

/** Path-style URLs, so bucket names need no `*.localhost` DNS. */
export const s3ClientConfig = (endpoint: string) => ({ ...fauxqsClientConfig(endpoint), forcePathStyle: true });

/** Starts fauxqs on a free port (or `port`), with its per-request logging off. */
export const startFauxqs = async ({ port }: { port?: number } = {}): Promise<LocalFauxqs> => {
  const server = await start({ port: port ?? 0, logger: false });
  return { endpoint: server.address, server, stop: () => server.stop() };
};
