// One release server for the whole run (tests that need other settings start their own
// with `startServer`). Rate limits are raised: every test signs up and in from 127.0.0.1;
// the rate-limit test runs its own server with the limits low.
import { startServer } from "./server";

export default async function globalSetup() {
  const server = await startServer({
    RATE_LIMIT_LOGIN_PER_MINUTE: "1000",
    RATE_LIMIT_REGISTER_PER_MINUTE: "1000",
  });
  process.env.E2E_BASE_URL = server.baseURL;
  process.env.E2E_SERVER_LOG = server.logFile;
  return server.stop;
}
