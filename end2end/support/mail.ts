// A real SMTP server for the browser tests: aiosmtpd (PyPI, installed into .tools/python by
// `scripts/setup --test`) on a free port, storing every message it receives in a maildir
// that the tests read. The server can be stopped and started again on the same port, to
// show that mail queued while it was down is delivered once it is back.
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { freePort } from "./server";

const python = path.resolve(__dirname, "..", "..", ".tools", "python", "bin", "python");

export interface Mail {
  to: string;
  subject: string;
  /// The plain-text part, transfer encoding undone.
  text: string;
}

function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1");
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

function decodeQuotedPrintable(body: string): string {
  return body
    .replace(/=\r?\n/g, "")
    .replace(/=([0-9A-F]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
}

/// The text/plain part of a raw message.
function textPart(raw: string): string {
  const parts = raw.split(/\r?\n--[^\r\n]+\r?\n/);
  for (const part of parts) {
    const split = part.search(/\r?\n\r?\n/);
    if (split < 0) continue;
    const headers = part.slice(0, split);
    if (!/content-type:\s*text\/plain/i.test(headers)) continue;
    const body = part.slice(split).replace(/^\r?\n\r?\n/, "");
    if (/content-transfer-encoding:\s*quoted-printable/i.test(headers)) {
      return decodeQuotedPrintable(body);
    }
    if (/content-transfer-encoding:\s*base64/i.test(headers)) {
      return Buffer.from(body.replace(/\s+/g, ""), "base64").toString("utf8");
    }
    return body;
  }
  return raw;
}

function header(raw: string, name: string): string {
  const match = raw.match(new RegExp(`^${name}:\\s*(.*)$`, "mi"));
  return match ? match[1].trim() : "";
}

/// Every message in `maildir`.
export function readMaildir(maildir: string): Mail[] {
  const found: Mail[] = [];
  for (const sub of ["new", "cur"]) {
    const dir = path.join(maildir, sub);
    if (!existsSync(dir)) continue;
    for (const name of readdirSync(dir)) {
      const raw = readFileSync(path.join(dir, name), "utf8");
      found.push({ to: header(raw, "To"), subject: header(raw, "Subject"), text: textPart(raw) });
    }
  }
  return found;
}

/// Waits (up to `timeoutMs`) for a message to `to` whose subject contains `subject`.
export async function waitForMail(
  maildir: string,
  to: string,
  subject: string,
  timeoutMs = 15_000,
): Promise<Mail> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const mail = readMaildir(maildir).find(
      (m) => m.to.toLowerCase().includes(to.toLowerCase()) && m.subject.includes(subject),
    );
    if (mail) return mail;
    if (Date.now() > deadline) {
      throw new Error(`no mail to ${to} about "${subject}" within ${timeoutMs} ms`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/// The first link in `mail` that contains `fragment`.
export function linkIn(mail: Mail, fragment: string): string {
  const link = mail.text
    .split(/\s+/)
    .find((word) => word.startsWith("http") && word.includes(fragment));
  if (!link) throw new Error(`no link with ${fragment} in:\n${mail.text}`);
  return link;
}

export class SmtpServer {
  readonly maildir: string;
  private child: ChildProcess | null = null;
  private readonly dir: string;

  private constructor(readonly port: number) {
    this.dir = mkdtempSync(path.join(tmpdir(), "las-e2e-mail-"));
    this.maildir = path.join(this.dir, "maildir");
  }

  static async start(): Promise<SmtpServer> {
    if (!existsSync(python)) {
      throw new Error(`the browser tests need aiosmtpd in .tools/python: run scripts/setup --test`);
    }
    const smtp = new SmtpServer(await freePort());
    await smtp.resume();
    return smtp;
  }

  get url(): string {
    return `smtp://127.0.0.1:${this.port}`;
  }

  /// Starts (again) on the same port and maildir.
  async resume() {
    this.child = spawn(
      python,
      ["-m", "aiosmtpd", "-n", "-l", `127.0.0.1:${this.port}`, "-c", "aiosmtpd.handlers.Mailbox", this.maildir],
      { stdio: "ignore" },
    );
    const deadline = Date.now() + 10_000;
    while (!(await listening(this.port))) {
      if (Date.now() > deadline) throw new Error("aiosmtpd did not start");
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /// Stops the server; what it received stays readable.
  async stop() {
    const child = this.child;
    this.child = null;
    if (!child || child.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      child.once("exit", () => resolve());
      child.kill("SIGKILL");
    });
  }

  async dispose() {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
