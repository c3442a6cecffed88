// Starts the fauxqs SQS emulator for sqsfleet's tests and demo.
//
// fauxqs's own entry point (dist/server.js) only listens on a fixed port and
// logs to stdout, which makes it awkward to drive from other programs. This
// launcher lets the kernel pick a free port and announces it as exactly one
// JSON line on stdout, e.g.
//
//   {"port":12345,"endpoint":"http://127.0.0.1:12345"}
//
// so parallel test processes never fight over a port.
//
// Run it with Node >= 22 (fauxqs persists with node:sqlite); pass
// --no-warnings to hide the SQLite ExperimentalWarning.
//
// Environment:
//   FAUXQS_PORT                 port to listen on; 0 or unset = any free port
//   FAUXQS_DATA_DIR             SQLite persistence directory, used only
//   FAUXQS_PERSISTENCE=true     ...when this is set too (as in dist/server.js)
//   FAUXQS_EXIT_ON_STDIN_EOF=1  exit when stdin closes, so the emulator dies
//                               with the process that started it
//   FAUXQS_APP                  path to fauxqs's dist/app.js, if not the one
//                               installed by scripts/fauxqs-install.sh
import path from "node:path";
import process from "node:process";
import { fileURLToPath, pathToFileURL } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const appPath =
  process.env.FAUXQS_APP ||
  path.join(here, "..", ".tools", "fauxqs", "node_modules", "fauxqs", "dist", "app.js");

function fail(msg) {
  process.stderr.write(`fauxqs.mjs: ${msg}\n`);
  process.exit(1);
}

const portText = process.env.FAUXQS_PORT || "0";
const port = Number(portText);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  fail(`invalid FAUXQS_PORT ${JSON.stringify(portText)}`);
}

const dataDir = process.env.FAUXQS_DATA_DIR;
const persist = Boolean(dataDir) && process.env.FAUXQS_PERSISTENCE === "true";

let server;
let stopping = false;
async function shutdown(reason) {
  if (stopping) return;
  stopping = true;
  // Still starting: exiting is safe, as fauxqs writes SQLite synchronously.
  if (!server) process.exit(0);
  // A wedged close must not keep the process (and its port) alive forever.
  setTimeout(() => {
    process.stderr.write(`fauxqs.mjs: stop timed out after ${reason}\n`);
    process.exit(1);
  }, 5000).unref();
  try {
    // Closing flushes and closes the SQLite database, so persisted state is
    // complete for the next start.
    await server.stop();
  } catch (err) {
    process.stderr.write(`fauxqs.mjs: stop failed: ${err.message}\n`);
    process.exit(1);
  }
  process.exit(0);
}

// Registered before starting, so a parent that gives up during a slow start
// does not leave the emulator behind.
process.on("SIGTERM", () => shutdown("SIGTERM"));
process.on("SIGINT", () => shutdown("SIGINT"));

if (process.env.FAUXQS_EXIT_ON_STDIN_EOF === "1") {
  // The parent holds the other end of a pipe; the kernel closes it when the
  // parent dies for any reason, including SIGKILL, which no signal handler
  // in the parent could cover.
  process.stdin.on("end", () => shutdown("stdin EOF"));
  process.stdin.on("error", () => shutdown("stdin error"));
  process.stdin.resume();
}

let startFauxqs;
try {
  ({ startFauxqs } = await import(pathToFileURL(path.resolve(appPath)).href));
} catch (err) {
  fail(`cannot load fauxqs from ${appPath} (run scripts/fauxqs-install.sh): ${err.message}`);
}

try {
  server = await startFauxqs({
    port,
    logger: false,
    ...(persist ? { dataDir } : {}),
  });
} catch (err) {
  // EADDRINUSE ends up here; callers restarting on a fixed port retry on it.
  fail(`cannot start fauxqs on port ${port}: ${err.code ?? ""} ${err.message}`);
}

// fauxqs listens on 0.0.0.0, so loopback always reaches it; announcing an IP
// rather than "localhost" avoids clients trying ::1 first.
process.stdout.write(
  JSON.stringify({ port: server.port, endpoint: `http://127.0.0.1:${server.port}` }) + "\n",
);
