// One release server for the whole run (tests that need other settings start their own
// with `startServer`), sending its mail to a real SMTP server (aiosmtpd) whose maildir the
// tests read. Rate limits are raised: every test signs up and in from 127.0.0.1; the
// rate-limit test runs its own server with the limits low.
import { SmtpServer } from "./mail";
import { startServer } from "./server";

export default async function globalSetup() {
  const smtp = await SmtpServer.start();
  const server = await startServer({
    RATE_LIMIT_LOGIN_PER_MINUTE: "1000",
    RATE_LIMIT_REGISTER_PER_MINUTE: "1000",
    RATE_LIMIT_EMAIL_IP_PER_HOUR: "1000",
    EMAIL_URL: smtp.url,
  });
  process.env.E2E_BASE_URL = server.baseURL;
  process.env.E2E_SERVER_LOG = server.logFile;
  process.env.E2E_MAILDIR = smtp.maildir;
  return async () => {
    await server.stop();
    await smtp.dispose();
  };
}
