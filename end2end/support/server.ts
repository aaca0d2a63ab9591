// Starts a copy of the real release server: the `server` binary is copied alone into an
// empty temporary directory (so it can only serve what it embeds), given a free port, a
// fresh SQLite database (or E2E_DATABASE_URL) and any extra environment a test needs.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { copyFileSync, mkdtempSync, rmSync, chmodSync, openSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";

const repoRoot = path.resolve(__dirname, "..", "..");

export interface RunningServer {
  baseURL: string;
  logFile: string;
  stop: () => Promise<void>;
  /** Runs one of the binary's admin commands against this server's database. */
  command: (args: string[], extraEnv?: Record<string, string>) => { status: number; output: string };
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const address = srv.address();
      const port = typeof address === "object" && address ? address.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

async function waitUntilReady(url: string, server: ChildProcess, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (server.exitCode !== null) {
      throw new Error(`server exited early with code ${server.exitCode}`);
    }
    try {
      const res = await fetch(url);
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`server did not become ready at ${url} within ${timeoutMs} ms`);
}

/// `host`: the name the site is served under (`PUBLIC_URL`); `localhost` for passkeys,
/// which browsers refuse on an IP address. The server listens on 127.0.0.1 either way.
export async function startServer(
  extraEnv: Record<string, string> = {},
  { host = "127.0.0.1" }: { host?: string } = {},
): Promise<RunningServer> {
  const binary =
    process.env.E2E_SERVER_BINARY || path.join(repoRoot, "target", "release", "server");
  const workDir = mkdtempSync(path.join(tmpdir(), "las-e2e-"));
  const lonelyBinary = path.join(workDir, "server");
  copyFileSync(binary, lonelyBinary);
  chmodSync(lonelyBinary, 0o755);

  const port = await freePort();
  const baseURL = `http://${host}:${port}`;
  const logFile = path.join(workDir, "server.log");
  const log = openSync(logFile, "w");
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? "/usr/bin:/bin",
    HOME: workDir,
    LEPTOS_SITE_ADDR: `127.0.0.1:${port}`,
    PUBLIC_URL: baseURL,
    DATA_DIR: path.join(workDir, "data"),
    // Points nowhere: the binary must serve its embedded copy of the site.
    LEPTOS_SITE_ROOT: path.join(workDir, "no-site-here"),
    RUST_LOG: process.env.E2E_RUST_LOG || "info",
    ...(process.env.E2E_DATABASE_URL ? { DATABASE_URL: process.env.E2E_DATABASE_URL } : {}),
    ...extraEnv,
  };
  const server = spawn(lonelyBinary, [], { cwd: workDir, env, stdio: ["ignore", log, log] });

  await waitUntilReady(`http://127.0.0.1:${port}/healthz`, server, 30_000);

  const stop = async () => {
    server.kill("SIGTERM");
    await new Promise<void>((resolve) => {
      if (server.exitCode !== null) return resolve();
      const timer = setTimeout(() => {
        server.kill("SIGKILL");
        resolve();
      }, 15_000);
      server.once("exit", () => {
        clearTimeout(timer);
        resolve();
      });
    });
    if (server.exitCode !== 0 && server.signalCode === null) {
      console.error(`server exited with ${server.exitCode}; log kept at ${logFile}`);
      return;
    }
    if (!process.env.E2E_KEEP_TMP) rmSync(workDir, { recursive: true, force: true });
  };
  const command = (args: string[], more: Record<string, string> = {}) => {
    const run = spawnSync(lonelyBinary, args, {
      cwd: workDir,
      env: { ...env, ...more },
      encoding: "utf8",
      timeout: 60_000,
    });
    return { status: run.status ?? -1, output: `${run.stdout}${run.stderr}` };
  };
  return { baseURL, logFile, stop, command };
}
