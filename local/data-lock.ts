// One local stack per data folder: DynamoDB Local (and kinesis-local) keep their
// files there, and two of them on the same files corrupt each other's state.
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, writeSync } from "node:fs";
import { join, resolve } from "node:path";

export class DataFolderInUse extends Error {}

const LOCK_FILE = "ordinal.lock";

/** Whether a process of that pid exists (EPERM: it does, but is not ours to signal). */
export const isAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
};

/** Live DynamoDB Local processes whose -dbPath is `dir` (on Linux, from /proc): orphans of a runtime that died without its watchdog. */
const emulatorsOn = (dir: string): number[] => {
  if (!existsSync("/proc")) return [];
  const found: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    let args: string[];
    try {
      args = readFileSync(`/proc/${entry}/cmdline`, "utf8").split("\0");
    } catch {
      continue; // gone since the listing, or not ours to read
    }
    const at = args.indexOf("-dbPath");
    if (at >= 0 && args.some((a) => a.includes("DynamoDBLocal")) && resolve(args[at + 1] ?? "") === dir) found.push(Number(entry));
  }
  return found;
};

/**
 * Takes `dir` for this process (making it if need be), or throws DataFolderInUse naming who holds it.
 * A lock left by a process that is gone is taken over. Answers the release.
 */
export const lockDataFolder = (folder: string): (() => void) => {
  const dir = resolve(folder);
  mkdirSync(dir, { recursive: true });
  const path = join(dir, LOCK_FILE);
  for (let attempt = 0; ; attempt++) {
    try {
      const fd = openSync(path, "wx");
      writeSync(fd, JSON.stringify({ pid: process.pid, startedAt: new Date().toISOString() }));
      closeSync(fd);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST" || attempt > 0) throw error;
      let holder: number | undefined;
      try {
        holder = (JSON.parse(readFileSync(path, "utf8")) as { pid?: number }).pid;
      } catch {
        // Half written by a process killed mid-write: no one holds it.
      }
      if (holder !== undefined && holder !== process.pid && isAlive(holder))
        throw new DataFolderInUse(`the data folder ${dir} is in use by another local stack (pid ${holder}): stop it, or start with --data <another folder> or --memory`);
      rmSync(path, { force: true });
    }
  }
  const orphans = emulatorsOn(dir);
  if (orphans.length > 0) {
    rmSync(path, { force: true });
    throw new DataFolderInUse(
      `the data folder ${dir} is held by a DynamoDB Local that outlived its runtime (pid ${orphans.join(", ")}): stop it (kill ${orphans.join(" ")}) and start again`,
    );
  }
  return () => rmSync(path, { force: true });
};
