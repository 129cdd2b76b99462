/** A real signaldesk server (`signaldesk serve`) in a child process, on a free loopback port. */
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, openSync, readFileSync, rmSync, closeSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { until } from "./wait";

const SIGNALDESK = process.env.SIGNALDESK_BIN ?? fileURLToPath(new URL("../../../.venv/bin/signaldesk", import.meta.url));

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const address = probe.address();
      probe.close(() => (typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port"))));
    });
  });
}

export interface ServerOptions {
  env?: Record<string, string>;
  token?: string;
}

export class SignaldeskServer {
  readonly root = mkdtempSync(join(tmpdir(), "signaldesk-ws-"));
  readonly dataDir = join(this.root, "data");
  private readonly logPath = join(this.root, "server.log");
  private proc: ChildProcess | null = null;

  private constructor(
    readonly port: number,
    private readonly options: ServerOptions,
  ) {}

  static async start(options: ServerOptions = {}): Promise<SignaldeskServer> {
    const server = new SignaldeskServer(await freePort(), options);
    await server.start();
    return server;
  }

  get http(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get ws(): string {
    return `ws://127.0.0.1:${this.port}`;
  }

  /** Start (or restart, same port and data dir) and wait until /api/health answers. */
  async start(): Promise<void> {
    const log = openSync(this.logPath, "a");
    const env = {
      ...process.env,
      SIGNALDESK_HEARTBEAT_INTERVAL: "0.5",
      SIGNALDESK_LOG_FORMAT: "console",
      // Tests publish the engine's own types (hft.*) as sample events through POST /api/events.
      SIGNALDESK_EVENTS_ALLOW_ENGINE_TYPES: "true",
      ...(this.options.token ? { SIGNALDESK_API_TOKEN: this.options.token } : {}),
      ...this.options.env,
    };
    const args = ["serve", "--host", "127.0.0.1", "--port", String(this.port), "--data-dir", this.dataDir];
    const proc = spawn(SIGNALDESK, args, { env, stdio: ["ignore", log, log] });
    closeSync(log);
    this.proc = proc;
    let exited = false;
    proc.once("exit", () => (exited = true));
    await until(`signaldesk on port ${this.port} to be healthy`, async () => {
      if (exited) throw new Error(`signaldesk exited:\n${this.log()}`);
      try {
        return (await fetch(`${this.http}/api/health`)).ok ? true : undefined;
      } catch {
        return undefined;
      }
    }, 20_000);
  }

  /** SIGTERM and wait for the exit: the server closes its streams with 1001 on the way out. */
  async stop(): Promise<void> {
    const proc = this.proc;
    this.proc = null;
    if (proc === null || proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise((resolve) => proc.once("exit", resolve));
    proc.kill("SIGCONT"); // in case a test froze it
    proc.kill("SIGTERM");
    await exited;
  }

  /** SIGSTOP / SIGCONT: the sockets stay open, nothing is sent. */
  freeze(): void {
    this.proc?.kill("SIGSTOP");
  }

  thaw(): void {
    this.proc?.kill("SIGCONT");
  }

  /** Delete the event log: the next start is a new epoch. */
  wipe(): void {
    rmSync(this.dataDir, { recursive: true, force: true });
  }

  async dispose(): Promise<void> {
    await this.stop();
    rmSync(this.root, { recursive: true, force: true });
  }

  log(): string {
    try {
      return readFileSync(this.logPath, "utf8");
    } catch {
      return "";
    }
  }

  /** Run `signaldesk <args> --url <this server>` (with its token) as a person would; its stdout, or it throws with its output. */
  async cli(...args: string[]): Promise<string> {
    const env = { ...process.env, ...(this.options.token ? { SIGNALDESK_API_TOKEN: this.options.token } : {}) };
    try {
      const { stdout } = await promisify(execFile)(SIGNALDESK, [...args, "--url", this.http], { env, timeout: 30_000 });
      return stdout;
    } catch (error) {
      const { stdout = "", stderr = "" } = error as { stdout?: string; stderr?: string };
      throw new Error(`signaldesk ${args.join(" ")} failed: ${String(error)}\n${stdout}${stderr}`);
    }
  }

  /** POST /api/events; returns the stored envelope (201) or throws with the server's answer. */
  async publish(channel: string, type: string, payload: unknown): Promise<{ id: number } & Record<string, unknown>> {
    const headers: Record<string, string> = { "content-type": "application/json" };
    if (this.options.token) headers.authorization = `Bearer ${this.options.token}`;
    const response = await fetch(`${this.http}/api/events`, {
      method: "POST",
      headers,
      body: JSON.stringify({ channel, type, payload }),
    });
    const body = await response.text();
    if (response.status !== 201) throw new Error(`POST /api/events ${response.status}: ${body}`);
    return JSON.parse(body) as { id: number } & Record<string, unknown>;
  }
}
